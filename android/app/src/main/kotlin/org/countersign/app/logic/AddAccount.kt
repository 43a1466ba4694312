// Plain Kotlin (no android.*): compiled and tested on the JVM by android/scripts/jvm-check.sh.
package org.countersign.app.logic

import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicBoolean
import org.countersign.core.AccountInfo
import org.countersign.core.Activation
import org.countersign.core.AddedAccount
import org.countersign.core.AuthenticatorClientInterface
import org.countersign.core.CountersignException
import org.countersign.core.InternalException
import org.countersign.core.DeviceDescription
import org.countersign.core.PayloadKind
import org.countersign.core.PushTarget
import org.countersign.core.ScannedPayload

/**
 * The Y plane of a camera frame, as `scan_frame` takes it: `width` × `height` pixels, `rowStride`
 * bytes per row. CameraX (YUV_420_888) and AVFoundation (`420f`) both pad rows, and the last row
 * of the buffer may stop right after its last pixel, so exactly `(height - 1) * rowStride + width`
 * bytes are copied.
 */
class LumaFrame(val width: Int, val height: Int, val rowStride: Int, val luma: ByteArray) {
    companion object {
        /** Copies the plane starting at [plane]'s position; the buffer's position is left unchanged. */
        fun fromPlane(plane: ByteBuffer, width: Int, height: Int, rowStride: Int): LumaFrame {
            require(width > 0 && height > 0) { "empty frame" }
            require(rowStride >= width) { "row stride $rowStride is smaller than the width $width" }
            val needed = (height - 1).toLong() * rowStride + width
            require(plane.remaining() >= needed) { "plane has ${plane.remaining()} bytes, needs $needed" }
            val bytes = ByteArray(needed.toInt())
            plane.duplicate().get(bytes)
            return LumaFrame(width, height, rowStride, bytes)
        }
    }
}

/** What to offer after a QR code was read. Holds the payload, which may contain a secret. */
sealed interface ScanAction {
    /** An `otpauth://` account: "Add {issuer} ({name})?" */
    class AddAccount(val info: AccountInfo, internal val uri: String) : ScanAction {
        override fun toString() = "AddAccount(${info.otpType})"
    }

    /** A Countersign push activation: "Add an account at {host}?", before any network request. */
    class Activate(val host: String, internal val payload: String) : ScanAction {
        override fun toString() = "Activate($host)"
    }

    /** Something Countersign recognises but cannot use (yet): explain. */
    data class Explain(val text: String) : ScanAction
}

/**
 * Adding accounts: camera frames (one in flight at a time, scanning stops at the first usable
 * code), an image file, an `otpauth://` URI, and push activation by QR or by the code and URL
 * typed from the sign-in page.
 */
class AddAccountModel(
    private val client: AuthenticatorClientInterface,
    private val device: DeviceDescription,
    /** The current push registration (FCM token), or provider `none` to poll. */
    private val pushTarget: () -> PushTarget,
) {
    private val busy = AtomicBoolean(false)
    private val found = AtomicBoolean(false)

    /**
     * One camera frame. Returns null while nothing usable was found (keep scanning) or while an
     * earlier frame is still being decoded (the analyzer drops this one).
     */
    fun onFrame(frame: LumaFrame): ScanAction? {
        if (found.get() || !busy.compareAndSet(false, true)) return null
        try {
            val payloads = client.scanFrame(
                frame.width.toUInt(), frame.height.toUInt(), frame.rowStride.toUInt(), frame.luma,
            )
            val action = choose(payloads) ?: return null
            return if (found.compareAndSet(false, true)) action else null
        } catch (e: CountersignException) {
            return null // a malformed frame is dropped; the next one will do
        } catch (e: InternalException) {
            return null
        } finally {
            busy.set(false)
        }
    }

    /** Restart scanning after the user dismissed the offer. */
    fun resumeScanning() = found.set(false)

    /** A picked screenshot or photo. */
    fun onImage(bytes: ByteArray): ScanAction = try {
        choose(client.scanImage(bytes))
            ?: ScanAction.Explain("No QR code found in this image.")
    } catch (e: CountersignException) {
        ScanAction.Explain(userMessage(e).text)
    }

    /** Adds the account the user accepted. */
    fun add(action: ScanAction.AddAccount): AddedAccount = client.addAccountFromUri(action.uri)

    /** Adds an account from a pasted `otpauth://` URI. */
    fun addUri(uri: String): AddedAccount = client.addAccountFromUri(uri.trim())

    /** Activates the push account the user accepted ("Add an account at {host}?": yes). */
    suspend fun activate(action: ScanAction.Activate): Activation =
        client.activateFromPayload(action.payload, device, pushTarget())

    /**
     * "Enter code and URL manually". Blank fields are caught here; the core checks the code's
     * checksum offline (a typo fails before any network request) and the URL rules.
     */
    suspend fun activateTyped(code: String, url: String): Activation {
        val c = code.trim()
        val u = url.trim()
        if (c.isEmpty()) throw CountersignException.InvalidInput("Type the activation code shown on the sign-in page.", "code")
        if (u.isEmpty()) throw CountersignException.InvalidInput("Type the URL shown on the sign-in page.", "url")
        return client.activateWithCode(c, u, device, pushTarget())
    }

    private fun choose(payloads: List<ScannedPayload>): ScanAction? {
        val actions = payloads.map(::action)
        return actions.firstOrNull { it !is ScanAction.Explain } ?: actions.firstOrNull()
    }

    private fun action(p: ScannedPayload): ScanAction = when (val k = p.kind) {
        is PayloadKind.Otpauth -> ScanAction.AddAccount(k.info, p.text)
        is PayloadKind.OpenpushActivation -> ScanAction.Activate(k.host, p.text)
        is PayloadKind.GoogleMigration -> ScanAction.Explain(
            "This is a Google Authenticator export (${k.accounts} accounts). Import is not available yet.",
        )
        is PayloadKind.PrivacyideaPush -> ScanAction.Explain(
            "Adding privacyIDEA push tokens is not in this version of the app yet. Ask for a TOTP token instead.",
        )
        PayloadKind.MicrosoftActivation -> ScanAction.Explain(
            "This code only works with Microsoft Authenticator.",
        )
        is PayloadKind.Unknown -> ScanAction.Explain("Not an authenticator code: ${k.reason}")
    }
}

/** Activation status: from "activated" to "confirmed on the sign-in page". */
enum class ActivationPhase { WAITING_FOR_CONFIRMATION, ACTIVE, CONFIRMATION_EXPIRED }

data class ActivationStatus(
    val accountId: Long,
    val issuer: String,
    val label: String,
    val host: String,
    val phase: ActivationPhase,
    /** Server time by which "Verify Now" must be confirmed. */
    val confirmBy: ULong,
    /** Seconds left to confirm. */
    val secondsLeft: Long,
) {
    companion object {
        fun waiting(a: Activation, now: ULong) = ActivationStatus(
            a.accountId, a.issuer, a.label, a.host, ActivationPhase.WAITING_FOR_CONFIRMATION,
            a.confirmBy, 0,
        ).tick(now)
    }

    fun tick(now: ULong): ActivationStatus {
        if (phase != ActivationPhase.WAITING_FOR_CONFIRMATION) return this
        return if (now >= confirmBy) {
            copy(phase = ActivationPhase.CONFIRMATION_EXPIRED, secondsLeft = 0)
        } else {
            copy(secondsLeft = (confirmBy - now).toLong())
        }
    }

    /** The activation challenge was approved (ChallengeModel ended APPROVED for it). */
    fun confirmed() = copy(phase = ActivationPhase.ACTIVE, secondsLeft = 0)
}
