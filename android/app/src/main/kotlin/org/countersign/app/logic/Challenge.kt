// Plain Kotlin (no android.*): compiled and tested on the JVM by android/scripts/jvm-check.sh.
package org.countersign.app.logic

import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.Locale
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import org.countersign.core.AuthenticatorClientInterface
import org.countersign.core.ChallengeKind
import org.countersign.core.Clock
import org.countersign.core.CountersignException
import org.countersign.core.Decision
import org.countersign.core.Outcome
import org.countersign.core.PushChallenge

/** The context of a sign-in request, ready to show (everything here was verified by the core). */
data class ChallengeContext(
    val accountId: Long,
    val challengeId: String,
    val isActivation: Boolean,
    val title: String,
    val app: String,
    /** The server's own question (privacyIDEA), shown as text. */
    val serverMessage: String?,
    val ip: String,
    val location: String,
    val client: String?,
    /** When the sign-in started, in the device's time zone. */
    val time: String,
    val expiresAt: ULong,
    /** Digits to type from the sign-in page, or null when no number is asked. */
    val numberLength: Int?,
    /** Choices to pick from before approving (privacyIDEA presence), empty otherwise. */
    val options: List<String>,
    /** A code the request asks the app to show (privacyIDEA code-to-phone). */
    val displayCode: SensitiveCode?,
    val fraudReportOffered: Boolean,
) {
    companion object {
        fun of(c: PushChallenge, zone: ZoneId = ZoneId.systemDefault(), locale: Locale = Locale.getDefault()) =
            ChallengeContext(
                accountId = c.accountId,
                challengeId = c.challengeId,
                isActivation = c.kind == ChallengeKind.ACTIVATION,
                title = if (c.kind == ChallengeKind.ACTIVATION) {
                    "Confirm adding this device"
                } else {
                    "Are you trying to sign in?"
                },
                app = c.app,
                serverMessage = c.message,
                ip = c.ip ?: "unknown",
                location = c.location ?: "unknown location",
                client = c.client,
                time = DateTimeFormatter.ofPattern("d MMM yyyy, HH:mm:ss", locale)
                    .withZone(zone).format(Instant.ofEpochSecond(c.time.toLong())),
                expiresAt = c.expiresAt,
                numberLength = c.numberLength?.toInt(),
                options = c.options,
                displayCode = c.displayCode?.let(::SensitiveCode),
                fraudReportOffered = c.fraudReport,
            )
    }
}

/** Where the sign-in screen is. */
enum class ChallengePhase {
    /** Showing context, number field, Approve / Deny / Deny and report fraud. */
    REVIEW,

    /** "Report fraud?" confirmation. */
    CONFIRM_FRAUD,

    /** The biometric / device-credential prompt is up for an approval. */
    VERIFYING_USER,

    /** The answer is on its way. */
    SENDING,
    APPROVED,
    DENIED,
    REPORTED,

    /** Expired before the user answered. */
    EXPIRED,

    /** Already answered elsewhere, closed or expired at the server. */
    CLOSED,

    /** Could not be answered (security check, server refusal…); see the message. */
    FAILED,
    ;

    val isFinal: Boolean
        get() = this in setOf(APPROVED, DENIED, REPORTED, EXPIRED, CLOSED, FAILED)
}

data class ChallengeUiState(
    val context: ChallengeContext,
    val phase: ChallengePhase = ChallengePhase.REVIEW,
    /** What the user typed; starts empty and is never filled in by the app. */
    val typedNumber: String = "",
    /** The option the user picked (never pre-selected). */
    val selectedOption: String? = null,
    val secondsLeft: Long = 0,
    /** A problem with the last action, or the result in words when final. */
    val message: String? = null,
    /** A code the server handed back with the approval, to type on the sign-in page. */
    val approvalCode: SensitiveCode? = null,
) {
    val canApprove: Boolean
        get() = phase == ChallengePhase.REVIEW &&
            (context.numberLength == null || typedNumber.length == context.numberLength) &&
            (context.options.isEmpty() || selectedOption != null)
}

/** The result of the biometric / device-credential prompt shown before an approval. */
sealed interface UserVerification {
    data object Verified : UserVerification
    data object Cancelled : UserVerification

    /** No biometric or device credential is set up, or the prompt failed. */
    data class Unavailable(val reason: String) : UserVerification
}

/**
 * The sign-in request screen as a state machine. Approve is two steps: [requestApproval] checks
 * the typed number and moves to [ChallengePhase.VERIFYING_USER] (the shell then shows
 * BiometricPrompt / LocalAuthentication / Windows Hello); only [onUserVerification] with
 * [UserVerification.Verified] in that phase sends the approval. The typed number goes to the
 * core as typed; the core signs it into the answer and the server compares it.
 */
class ChallengeModel(
    challenge: PushChallenge,
    private val client: AuthenticatorClientInterface,
    private val clock: Clock,
    zone: ZoneId = ZoneId.systemDefault(),
) {
    private val mutableState = MutableStateFlow(
        ChallengeUiState(ChallengeContext.of(challenge, zone), secondsLeft = left(challenge.expiresAt)),
    )
    val state: StateFlow<ChallengeUiState> = mutableState.asStateFlow()

    private fun left(expiresAt: ULong): Long {
        val now = clock.nowUnixSeconds()
        return if (now >= expiresAt) 0 else (expiresAt - now).toLong()
    }

    private inline fun update(f: (ChallengeUiState) -> ChallengeUiState) {
        synchronized(this) { mutableState.value = f(mutableState.value) }
    }

    /** Keeps digits only, at most the asked length. */
    fun onNumberChanged(text: String) = update { s ->
        if (s.phase != ChallengePhase.REVIEW) return@update s
        val max = s.context.numberLength ?: 0
        s.copy(typedNumber = text.filter { it in '0'..'9' }.take(max), message = null)
    }

    /** Picks one of the offered options (privacyIDEA presence). */
    fun onOptionSelected(option: String) = update { s ->
        if (s.phase != ChallengePhase.REVIEW || option !in s.context.options) s else s.copy(selectedOption = option, message = null)
    }

    /** Once a second: countdown, and expiry before the user answered. */
    fun tick() = update { s ->
        val secs = left(s.context.expiresAt)
        if (secs == 0L && (s.phase == ChallengePhase.REVIEW || s.phase == ChallengePhase.CONFIRM_FRAUD ||
                s.phase == ChallengePhase.VERIFYING_USER)
        ) {
            s.copy(phase = ChallengePhase.EXPIRED, secondsLeft = 0, message = "This request expired. Sign in again if it was you.")
        } else {
            s.copy(secondsLeft = secs)
        }
    }

    /**
     * Approve pressed. Returns true when the shell must now show the user-verification prompt;
     * false (with a message) when the typed number is incomplete or the request expired.
     */
    fun requestApproval(): Boolean {
        tick()
        var show = false
        update { s ->
            when {
                s.phase != ChallengePhase.REVIEW -> s
                s.context.numberLength != null && s.typedNumber.length != s.context.numberLength -> s.copy(
                    message = "Type the ${s.context.numberLength}-digit number shown on the sign-in page.",
                )
                s.context.options.isNotEmpty() && s.selectedOption == null -> s.copy(
                    message = "Pick the answer shown on the sign-in page.",
                )
                else -> {
                    show = true
                    s.copy(phase = ChallengePhase.VERIFYING_USER, message = null)
                }
            }
        }
        return show
    }

    /** The user-verification prompt finished. Only a verified user in that phase approves. */
    suspend fun onUserVerification(result: UserVerification) {
        var number: String? = null
        var option: String? = null
        var go = false
        update { s ->
            if (s.phase != ChallengePhase.VERIFYING_USER) return@update s
            when (result) {
                UserVerification.Verified -> {
                    go = true
                    number = s.typedNumber.takeIf { s.context.numberLength != null }
                    option = s.selectedOption
                    s.copy(phase = ChallengePhase.SENDING)
                }
                UserVerification.Cancelled -> s.copy(
                    phase = ChallengePhase.REVIEW,
                    message = "Approving needs your fingerprint, face or device PIN.",
                )
                is UserVerification.Unavailable -> s.copy(
                    phase = ChallengePhase.REVIEW,
                    message = "Approving needs a screen lock (fingerprint, face or PIN) on this device: ${result.reason}",
                )
            }
        }
        if (go) send(Decision.Approve(number, option))
    }

    /** Deny: answered at once (denying is always safe). */
    suspend fun deny() {
        var go = false
        update { s ->
            if (s.phase != ChallengePhase.REVIEW) return@update s
            go = true
            s.copy(phase = ChallengePhase.SENDING, message = null)
        }
        if (go) send(Decision.Deny)
    }

    /** "Deny and report fraud" pressed: asks for confirmation first. */
    fun requestFraudReport() = update { s ->
        if (s.phase == ChallengePhase.REVIEW && s.context.fraudReportOffered) {
            s.copy(phase = ChallengePhase.CONFIRM_FRAUD, message = null)
        } else {
            s
        }
    }

    fun cancelFraudReport() = update { s ->
        if (s.phase == ChallengePhase.CONFIRM_FRAUD) s.copy(phase = ChallengePhase.REVIEW) else s
    }

    suspend fun confirmFraudReport() {
        var go = false
        update { s ->
            if (s.phase != ChallengePhase.CONFIRM_FRAUD) return@update s
            go = true
            s.copy(phase = ChallengePhase.SENDING)
        }
        if (go) send(Decision.ReportFraud)
    }

    private suspend fun send(decision: Decision) {
        val ctx = mutableState.value.context
        val next: (ChallengeUiState) -> ChallengeUiState = try {
            when (val outcome = client.answerChallenge(ctx.accountId, ctx.challengeId, decision)) {
                Outcome.Approved -> { s ->
                    s.copy(
                        phase = ChallengePhase.APPROVED,
                        message = if (ctx.isActivation) "This device is now active." else "Approved. Return to ${ctx.app}.",
                    )
                }
                is Outcome.ApprovedWithCode -> { s ->
                    s.copy(
                        phase = ChallengePhase.APPROVED,
                        approvalCode = SensitiveCode(outcome.code),
                        message = outcome.instruction ?: "Approved. Type this code on the sign-in page.",
                    )
                }
                is Outcome.Denied -> { s ->
                    s.copy(
                        phase = ChallengePhase.DENIED,
                        message = when (outcome.reason) {
                            "wrong_number" ->
                                "The number did not match, so the sign-in was denied. Sign in again if it was you."
                            "fraud_report_unsupported" ->
                                "Denied. This server cannot take fraud reports: tell your administrator yourself."
                            else -> "Denied."
                        },
                    )
                }
                Outcome.Fraud -> { s ->
                    s.copy(
                        phase = ChallengePhase.REPORTED,
                        message = "Denied and reported. Your administrator has been told; change your password.",
                    )
                }
            }
        } catch (e: CountersignException.ChallengeClosed) {
            { s -> s.copy(phase = ChallengePhase.CLOSED, message = userMessage(e).text) }
        } catch (e: CountersignException) {
            val m = userMessage(e)
            // A network failure can be retried from the review screen; the server takes one
            // answer per challenge, so a retry after a lost response ends as CLOSED.
            if (m.next == NextStep.RETRY) {
                { s -> s.copy(phase = ChallengePhase.REVIEW, message = m.text) }
            } else {
                { s -> s.copy(phase = ChallengePhase.FAILED, message = m.text) }
            }
        }
        update(next)
    }
}
