// Plain Kotlin (no android.*): compiled and tested on the JVM by android/scripts/jvm-check.sh.
package org.countersign.app.logic

import org.countersign.core.AccountKind
import org.countersign.core.AuthenticatorClientInterface
import org.countersign.core.ChallengeKind
import org.countersign.core.CountersignException
import org.countersign.core.PushChallenge
import org.countersign.core.PushTarget

/** A notification to post for a verified pending request. Holds no code and no number. */
data class SignInNotification(
    val accountId: Long,
    val challengeId: String,
    val title: String,
    val text: String,
)

/** What happened when a new push token was registered with each push account's server. */
data class TokenSyncReport(val updated: List<Long>, val failed: Map<Long, UserMessage>)

/**
 * Push receipt, independent of the push service: the FirebaseMessagingService (Android), the
 * APNs delegate (iOS) and the WNS channel (Windows) hand the data map and new tokens to this.
 * The push is only a wake-up with ids; the core fetches and verifies the request from the
 * account's own server, so nothing in the push itself is shown.
 */
class PushCoordinator(private val client: AuthenticatorClientInterface) {

    /** A received push's data map (FCM `RemoteMessage.data`). */
    suspend fun onMessage(data: Map<String, String>): List<SignInNotification> =
        client.handlePush(data).map(::notificationFor)

    /** Polling fallback (app opened, pull to refresh, or provider `none`). */
    suspend fun poll(): List<PushChallenge> = client.pendingChallenges()

    /** A new token from the push service: register it with every push account's server. */
    suspend fun onNewToken(target: PushTarget): TokenSyncReport {
        val updated = mutableListOf<Long>()
        val failed = mutableMapOf<Long, UserMessage>()
        val accounts = try {
            client.listAccounts().filter { it.kind != AccountKind.OATH } // openpush and privacyIDEA
        } catch (e: CountersignException) {
            return TokenSyncReport(emptyList(), mapOf(-1L to userMessage(e)))
        }
        for (a in accounts) {
            try {
                client.updatePushToken(a.id, target)
                updated += a.id
            } catch (e: CountersignException) {
                failed[a.id] = userMessage(e)
            }
        }
        return TokenSyncReport(updated, failed)
    }

    companion object {
        fun notificationFor(c: PushChallenge) = SignInNotification(
            accountId = c.accountId,
            challengeId = c.challengeId,
            title = if (c.kind == ChallengeKind.ACTIVATION) "Confirm your new device" else "Sign-in request",
            text = if (c.kind == ChallengeKind.ACTIVATION) {
                "Open Countersign to finish adding this device."
            } else {
                "Are you signing in to ${c.app}? Open Countersign to answer."
            },
        )
    }
}
