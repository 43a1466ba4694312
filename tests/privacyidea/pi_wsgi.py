"""WSGI entry point for gunicorn (start.sh): privacyIDEA with PI_HOME/pi.cfg."""
import os

from privacyidea.app import create_app

application = create_app(config_name="production",
                         config_file=os.environ["PRIVACYIDEA_CONFIGFILE"],
                         silent=True)
