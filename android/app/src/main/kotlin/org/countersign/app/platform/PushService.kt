package org.countersign.app.platform

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.launch
import org.countersign.core.PushTarget

/**
 * FCM receipt. The push is only a wake-up carrying ids; the core fetches the request from the
 * account's own server and verifies it before anything is shown. Nothing from the message is
 * logged or displayed.
 */
class PushService : FirebaseMessagingService() {
    override fun onMessageReceived(message: RemoteMessage) {
        val app = countersign
        val data = HashMap(message.data)
        app.scope.launch {
            app.withVault { s -> s.push.onMessage(data) }
                .onSuccess { notes -> notes.forEach { Notifications.showSignIn(app, it) } }
                // Could not verify now (no network, damaged vault): ask the user to open the app,
                // which polls. The failure itself is not shown on the lock screen.
                .onFailure { Notifications.showCheckRequests(app) }
        }
    }

    override fun onNewToken(token: String) {
        val app = countersign
        val target = PushTarget("fcm", token)
        app.session.getOrNull()?.pushTarget = target
        app.scope.launch { app.withVault { s -> s.push.onNewToken(target) } }
    }
}
