//! TLS material: a CA generated at first start (`<data>/ca.pem`, its key in `ca-key.pem`, 0600)
//! and a server certificate issued by it at every start, naming 127.0.0.1, ::1, localhost and
//! the public URL's host. Clients trust `ca.pem` as an extra root; verification stays on.
//! rustls runs with the `ring` provider only.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Countersign reference server test CA");
    dn.push(DnType::OrganizationName, "Countersign QA");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    Ok(params)
}

/// The CA key and the path of its certificate; generated at first start.
fn load_or_create_ca(dir: &Path) -> anyhow::Result<KeyPair> {
    let key_path = dir.join("ca-key.pem");
    let cert_path = dir.join("ca.pem");
    if key_path.exists() && cert_path.exists() {
        let pem = zeroize::Zeroizing::new(std::fs::read_to_string(&key_path)?);
        return KeyPair::from_pem(&pem).context("reading ca-key.pem");
    }
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = ca_params()?.self_signed(&key)?;
    let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
    crate::files::write_private(&key_path, key_pem.as_bytes())?;
    crate::files::write_with_mode(&cert_path, cert.pem().as_bytes(), 0o644)?;
    Ok(key)
}

/// Certificate chain and key for the listener.
pub(crate) struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// Makes sure `<data>/ca.pem` exists and issues a fresh server certificate for `hosts`.
pub(crate) fn server_cert(dir: &Path, extra_host: Option<&str>) -> anyhow::Result<ServerCert> {
    let ca_key = load_or_create_ca(dir)?;
    let issuer = Issuer::new(ca_params()?, ca_key);
    let mut names: Vec<String> = vec!["127.0.0.1".into(), "::1".into(), "localhost".into()];
    if let Some(h) = extra_host {
        let h = h.trim_start_matches('[').trim_end_matches(']').to_string();
        if !names.contains(&h) {
            names.push(h);
        }
    }
    let mut params = CertificateParams::new(names)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Countersign reference server");
    params.distinguished_name = dn;
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let leaf = params.signed_by(&leaf_key, &issuer)?;
    Ok(ServerCert {
        chain: vec![leaf.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    })
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3, HTTP/1.1).
pub(crate) fn rustls_config(cert: ServerCert) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(cert.chain, cert.key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
