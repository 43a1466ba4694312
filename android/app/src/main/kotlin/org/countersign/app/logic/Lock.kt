// Plain Kotlin (no android.*): compiled and tested on the JVM by android/scripts/jvm-check.sh.
package org.countersign.app.logic

import org.countersign.core.AuthenticatorClientInterface
import org.countersign.core.Clock
import org.countersign.core.CountersignException

/** The lock settings screen. Approving a sign-in always asks for the user; that is not a setting. */
data class LockSettings(
    /** Ask for fingerprint / face / PIN when the app opens. */
    val lockOnLaunch: Boolean = true,
    /** Lock after this many seconds in the background (0: at once). */
    val lockAfterSeconds: Long = 60,
) {
    companion object {
        /** The choices the settings screen offers. */
        val LOCK_AFTER_CHOICES = listOf(0L, 30L, 60L, 300L, 900L)
    }
}

/**
 * The app lock: forgets the vault's data key (`lock`) when the app has been away long enough,
 * and asks the key store for it again (`unlock`) after the user authenticated.
 */
class AppLock(
    private val client: AuthenticatorClientInterface,
    private val clock: Clock,
    @Volatile var settings: LockSettings = LockSettings(),
) {
    private var backgroundedAt: ULong? = null

    /** App start: true when the lock screen must show first. */
    @Synchronized
    fun onLaunch(): Boolean {
        if (settings.lockOnLaunch) client.lock()
        return client.isLocked()
    }

    @Synchronized
    fun onBackground() {
        backgroundedAt = clock.nowUnixSeconds()
        if (settings.lockAfterSeconds == 0L) client.lock()
    }

    /** Back in the foreground: locks if away too long. True when the lock screen must show. */
    @Synchronized
    fun onForeground(): Boolean {
        val since = backgroundedAt
        backgroundedAt = null
        if (since != null) {
            val now = clock.nowUnixSeconds()
            val away = if (now > since) (now - since).toLong() else 0L
            if (away >= settings.lockAfterSeconds) client.lock()
        }
        return client.isLocked()
    }

    /** After BiometricPrompt / LocalAuthentication / Windows Hello succeeded. Null when unlocked. */
    @Synchronized
    fun unlockAfterUserVerified(): UserMessage? = try {
        client.unlock()
        null
    } catch (e: CountersignException) {
        userMessage(e)
    }
}
