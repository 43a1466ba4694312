package org.countersign.app.platform

import android.content.ClipData
import android.content.ClipboardManager
import android.content.Context
import android.os.PersistableBundle
import androidx.biometric.BiometricManager
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity
import kotlin.coroutines.resume
import kotlinx.coroutines.suspendCancellableCoroutine
import org.countersign.app.logic.AddAccountModel
import org.countersign.app.logic.LumaFrame
import org.countersign.app.logic.ScanAction
import org.countersign.app.logic.SensitiveCode
import org.countersign.app.logic.UserVerification

/** Copies a code, marked sensitive so Android 13+ hides it from the clipboard preview. */
fun copyToClipboard(context: Context, code: SensitiveCode) {
    val clip = ClipData.newPlainText("one-time code", code.reveal()).apply {
        description.extras = PersistableBundle().apply {
            // ClipDescription.EXTRA_IS_SENSITIVE (API 33; older versions ignore it).
            putBoolean("android.content.extra.IS_SENSITIVE", true)
        }
    }
    context.getSystemService(ClipboardManager::class.java).setPrimaryClip(clip)
}

/**
 * BiometricPrompt with BIOMETRIC_STRONG | DEVICE_CREDENTIAL (fingerprint / face of class 3, or the
 * device PIN, pattern or password). Used before every approval and to unlock the app.
 */
suspend fun verifyUser(activity: FragmentActivity, title: String, subtitle: String?): UserVerification {
    val allowed = BIOMETRIC_STRONG or DEVICE_CREDENTIAL
    when (val can = BiometricManager.from(activity).canAuthenticate(allowed)) {
        BiometricManager.BIOMETRIC_SUCCESS -> Unit
        else -> return UserVerification.Unavailable("no fingerprint, face or screen lock is set up (code $can)")
    }
    return suspendCancellableCoroutine { cont ->
        val prompt = BiometricPrompt(
            activity,
            ContextCompat.getMainExecutor(activity),
            object : BiometricPrompt.AuthenticationCallback() {
                override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) {
                    if (cont.isActive) cont.resume(UserVerification.Verified)
                }

                override fun onAuthenticationError(errorCode: Int, errString: CharSequence) {
                    if (!cont.isActive) return
                    cont.resume(
                        when (errorCode) {
                            BiometricPrompt.ERROR_USER_CANCELED, BiometricPrompt.ERROR_NEGATIVE_BUTTON,
                            BiometricPrompt.ERROR_CANCELED,
                            -> UserVerification.Cancelled
                            else -> UserVerification.Unavailable(errString.toString())
                        },
                    )
                }
                // onAuthenticationFailed (a finger not recognised) keeps the prompt open.
            },
        )
        val info = BiometricPrompt.PromptInfo.Builder()
            .setTitle(title)
            .apply { subtitle?.let { setSubtitle(it) } }
            .setAllowedAuthenticators(allowed)
            .setConfirmationRequired(true)
            .build()
        prompt.authenticate(info)
        cont.invokeOnCancellation { prompt.cancelAuthentication() }
    }
}

/**
 * CameraX analysis: the Y plane of YUV_420_888 (pixel stride 1), with its row stride, straight to
 * the core's decoder. The model drops frames while one is being decoded and stops after a find.
 */
class QrAnalyzer(
    private val model: AddAccountModel,
    private val onFound: (ScanAction) -> Unit,
) : ImageAnalysis.Analyzer {
    override fun analyze(image: ImageProxy) {
        image.use {
            val y = it.planes[0]
            val frame = try {
                LumaFrame.fromPlane(y.buffer, it.width, it.height, y.rowStride)
            } catch (e: IllegalArgumentException) {
                return
            }
            model.onFrame(frame)?.let(onFound)
        }
    }
}
