package org.countersign.app.ui

import android.Manifest
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Bundle
import android.view.WindowManager
import androidx.activity.compose.setContent
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.core.content.ContextCompat
import androidx.fragment.app.FragmentActivity
import androidx.lifecycle.lifecycleScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.countersign.app.logic.LockSettings
import org.countersign.app.logic.ScanAction
import org.countersign.app.logic.UserVerification
import org.countersign.app.platform.LockPreferences
import org.countersign.app.platform.Notifications
import org.countersign.app.platform.copyToClipboard
import org.countersign.app.platform.verifyUser

private enum class Screen { LIST, ADD, SETTINGS }

/** A FragmentActivity because BiometricPrompt needs one; the UI is Compose. */
class MainActivity : FragmentActivity() {
    private val vm: AppViewModel by viewModels()
    private var screen by mutableStateOf(Screen.LIST)
    private var offer by mutableStateOf<ScanAction?>(null)
    private var cameraAllowed by mutableStateOf(false)
    private var lockSettings by mutableStateOf(LockSettings())

    private val cameraPermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { cameraAllowed = it }
    private val notificationPermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { }
    private val pickImage = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri == null) return@registerForActivityResult
        lifecycleScope.launch {
            val bytes = withContext(Dispatchers.IO) {
                contentResolver.openInputStream(uri)?.use { it.readBytes() }
            } ?: return@launch
            vm.addFromImage(bytes) { offer = it }
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // Codes and sign-in numbers stay out of screenshots and the recent-apps preview.
        window.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
        cameraAllowed = ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED) {
            notificationPermission.launch(Manifest.permission.POST_NOTIFICATIONS)
        }
        val session = vm.session
        session?.let { lockSettings = it.lock.settings }
        if (savedInstanceState == null && session != null) {
            lifecycleScope.launch(Dispatchers.IO) {
                if (session.lock.onLaunch()) vm.list?.refresh()
            }
        }
        vm.checkRequests(intent.getStringExtra(Notifications.EXTRA_CHALLENGE_ID))

        setContent {
            MaterialTheme {
                Surface {
                    val failure = vm.openFailure
                    val list = vm.list
                    val add = vm.add
                    if (failure != null || list == null || add == null || session == null) {
                        OpenFailedScreen(failure?.text ?: "Unknown error")
                        return@Surface
                    }
                    val listState by list.state.collectAsState()
                    val challenge by vm.challenge.collectAsState()
                    val activation by vm.activation.collectAsState()
                    val message by vm.message.collectAsState()
                    val current = challenge
                    val status = activation
                    when {
                        listState.locked -> LockedScreen(message?.text) { unlock() }
                        current != null -> ChallengeScreen(
                            current,
                            onApprove = { approve() },
                            onDeny = vm::deny,
                            onConfirmFraud = vm::confirmFraud,
                            onClose = vm::closeChallenge,
                        )
                        status != null -> ActivationStatusScreen(status) { vm.dismissActivation() }
                        screen == Screen.ADD -> AddAccountScreen(
                            add, cameraAllowed,
                            onPickImage = { pickImage.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) },
                            onAction = { offer = it },
                            onAddUri = { vm.addUri(it); screen = Screen.LIST },
                            onActivateTyped = { code, url -> vm.activateTyped(code, url); screen = Screen.LIST },
                            onBack = { screen = Screen.LIST },
                        )
                        screen == Screen.SETTINGS -> SettingsScreen(
                            lockSettings,
                            onChange = {
                                session.lock.settings = it
                                lockSettings = it
                                LockPreferences.save(this, it)
                            },
                            onLockNow = { vm.lockNow(); screen = Screen.LIST },
                            onBack = { screen = Screen.LIST },
                        )
                        else -> AccountListScreen(
                            list,
                            onCopy = { id -> copy(id) },
                            onRevealHotp = vm::revealHotp,
                            onAdd = {
                                if (!cameraAllowed) cameraPermission.launch(Manifest.permission.CAMERA)
                                screen = Screen.ADD
                            },
                            onSettings = { screen = Screen.SETTINGS },
                            onCheckRequests = { vm.checkRequests() },
                        )
                    }
                    offer?.let { a ->
                        ScanOfferDialog(
                            a,
                            onAdd = { vm.addScanned(it); offer = null; screen = Screen.LIST },
                            onActivate = { vm.activate(it); offer = null; screen = Screen.LIST },
                            onDismiss = { offer = null; add.resumeScanning() },
                        )
                    }
                    message?.takeIf { !listState.locked }?.let { m ->
                        AlertDialog(
                            onDismissRequest = vm::dismissMessage,
                            text = { Text(m.text) },
                            confirmButton = { TextButton(onClick = vm::dismissMessage) { Text("OK") } },
                        )
                    }
                }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        vm.checkRequests(intent.getStringExtra(Notifications.EXTRA_CHALLENGE_ID))
    }

    override fun onStart() {
        super.onStart()
        val s = vm.session ?: return
        lifecycleScope.launch(Dispatchers.IO) { if (s.lock.onForeground()) vm.list?.refresh() }
    }

    override fun onStop() {
        super.onStop()
        vm.session?.lock?.onBackground()
    }

    private fun copy(id: Long) = lifecycleScope.launch {
        vm.copy(id)?.let { copyToClipboard(this@MainActivity, it) }
    }

    private fun unlock() = lifecycleScope.launch {
        val result = verifyUser(this@MainActivity, "Unlock Countersign", null)
        if (result == UserVerification.Verified) vm.unlock()
    }

    /** Approve: the model checks the typed number, then BiometricPrompt, then the core signs and sends. */
    private fun approve() {
        val model = vm.challenge.value ?: return
        if (!model.requestApproval()) return
        lifecycleScope.launch {
            val app = model.state.value.context.app
            vm.approveAfter(verifyUser(this@MainActivity, "Approve sign-in to $app?", "Confirm it is you"))
        }
    }
}
