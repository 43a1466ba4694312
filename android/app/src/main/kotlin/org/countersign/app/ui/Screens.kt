package org.countersign.app.ui

import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.compose.ui.unit.sp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.lifecycle.compose.LocalLifecycleOwner
import java.util.concurrent.Executors
import org.countersign.app.logic.AccountListModel
import org.countersign.app.logic.AccountRow
import org.countersign.app.logic.ActivationPhase
import org.countersign.app.logic.ActivationStatus
import org.countersign.app.logic.AddAccountModel
import org.countersign.app.logic.ChallengeModel
import org.countersign.app.logic.ChallengePhase
import org.countersign.app.logic.CodeDisplay
import org.countersign.app.logic.LockSettings
import org.countersign.app.logic.ScanAction
import org.countersign.app.platform.QrAnalyzer

@Composable
fun AccountListScreen(
    model: AccountListModel,
    onCopy: (Long) -> Unit,
    onRevealHotp: (Long) -> Unit,
    onAdd: () -> Unit,
    onSettings: () -> Unit,
    onCheckRequests: () -> Unit,
) {
    val state by model.state.collectAsState()
    Column(Modifier.fillMaxSize().padding(16.dp)) {
        Row(verticalAlignment = Alignment.CenterVertically) {
            Text("Countersign", style = MaterialTheme.typography.headlineSmall, modifier = Modifier.weight(1f))
            TextButton(onClick = onCheckRequests) { Text("Requests") }
            TextButton(onClick = onSettings) { Text("Settings") }
        }
        if (state.rows.isEmpty() && state.loaded) {
            Text("No accounts yet. Add one by scanning the QR code shown by the service.", Modifier.padding(vertical = 24.dp))
        }
        LazyColumn(Modifier.weight(1f)) {
            items(state.rows, key = { it.id }) { row ->
                AccountRowView(row, onCopy = { onCopy(row.id) }, onReveal = { onRevealHotp(row.id) })
                HorizontalDivider()
            }
        }
        Button(onClick = onAdd, modifier = Modifier.fillMaxWidth()) { Text("Add account") }
    }
}

@Composable
private fun AccountRowView(row: AccountRow, onCopy: () -> Unit, onReveal: () -> Unit) {
    Row(
        Modifier.fillMaxWidth().clickable(onClick = onCopy).padding(vertical = 12.dp),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        Column(Modifier.weight(1f)) {
            Text(row.title, style = MaterialTheme.typography.titleMedium)
            row.subtitle?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
            when (val d = row.display) {
                is CodeDisplay.Timed -> Text(
                    d.code.grouped, fontFamily = FontFamily.Monospace, fontSize = 28.sp,
                    color = if (d.countdown.urgent) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.primary,
                )
                is CodeDisplay.Counter -> d.revealed?.let {
                    Text(it.grouped, fontFamily = FontFamily.Monospace, fontSize = 28.sp)
                } ?: OutlinedButton(onClick = onReveal) { Text("Show code") }
                CodeDisplay.PushOnly -> Text("Sign-in requests only")
                CodeDisplay.Unreadable -> Text("Stored data damaged", color = MaterialTheme.colorScheme.error)
                CodeDisplay.Locked -> Text("Locked")
            }
        }
        (row.display as? CodeDisplay.Timed)?.let { d ->
            Box(contentAlignment = Alignment.Center) {
                CircularProgressIndicator(progress = { d.countdown.fraction }, modifier = Modifier.size(36.dp))
                Text("${d.countdown.secondsLeft}", style = MaterialTheme.typography.labelSmall)
            }
        }
    }
}

/** Add account: camera (CameraX → scan_frame), image file, otpauth URI, or code + URL typed. */
@Composable
fun AddAccountScreen(
    model: AddAccountModel,
    cameraAllowed: Boolean,
    onPickImage: () -> Unit,
    onAction: (ScanAction) -> Unit,
    onAddUri: (String) -> Unit,
    onActivateTyped: (String, String) -> Unit,
    onBack: () -> Unit,
) {
    var code by remember { mutableStateOf("") }
    var url by remember { mutableStateOf("") }
    var uri by remember { mutableStateOf("") }
    Column(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("Add account", style = MaterialTheme.typography.headlineSmall)
        if (cameraAllowed) {
            CameraScanner(model, onAction, Modifier.fillMaxWidth().height(280.dp))
        } else {
            Text("Allow the camera to scan QR codes, or use the options below.")
        }
        OutlinedButton(onClick = onPickImage, modifier = Modifier.fillMaxWidth()) { Text("Scan from an image") }
        Text("Enter code and URL manually", style = MaterialTheme.typography.titleMedium)
        OutlinedTextField(code, { code = it }, label = { Text("Activation code") }, singleLine = true, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(
            url, { url = it }, label = { Text("URL") }, singleLine = true, modifier = Modifier.fillMaxWidth(),
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri),
        )
        Button(onClick = { onActivateTyped(code, url) }, modifier = Modifier.fillMaxWidth()) { Text("Activate") }
        OutlinedTextField(uri, { uri = it }, label = { Text("otpauth:// link") }, singleLine = true, modifier = Modifier.fillMaxWidth())
        OutlinedButton(onClick = { onAddUri(uri) }, modifier = Modifier.fillMaxWidth()) { Text("Add from link") }
        TextButton(onClick = onBack) { Text("Back") }
    }
}

@Composable
private fun CameraScanner(model: AddAccountModel, onAction: (ScanAction) -> Unit, modifier: Modifier) {
    val context = LocalContext.current
    val owner = LocalLifecycleOwner.current
    val executor = remember { Executors.newSingleThreadExecutor() }
    val previewView = remember { PreviewView(context) }
    DisposableEffect(owner) {
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener({
            val provider = future.get()
            val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
            val analysis = ImageAnalysis.Builder()
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_YUV_420_888)
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .build()
                .also { a ->
                    a.setAnalyzer(executor, QrAnalyzer(model) { action -> previewView.post { onAction(action) } })
                }
            provider.unbindAll()
            provider.bindToLifecycle(owner, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
        }, androidx.core.content.ContextCompat.getMainExecutor(context))
        onDispose {
            runCatching { future.get().unbindAll() }
            executor.shutdown()
        }
    }
    AndroidView({ previewView }, modifier)
}

/** What a scan found: confirm before adding or contacting a server. */
@Composable
fun ScanOfferDialog(action: ScanAction, onAdd: (ScanAction.AddAccount) -> Unit, onActivate: (ScanAction.Activate) -> Unit, onDismiss: () -> Unit) {
    when (action) {
        is ScanAction.AddAccount -> AlertDialog(
            onDismissRequest = onDismiss,
            title = { Text("Add account?") },
            text = {
                Text(
                    listOfNotNull(action.info.issuer, action.info.accountName).joinToString(" — ") +
                        action.info.warnings.joinToString("") { "\n• $it" },
                )
            },
            confirmButton = { Button(onClick = { onAdd(action) }) { Text("Add") } },
            dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
        )
        is ScanAction.Activate -> AlertDialog(
            onDismissRequest = onDismiss,
            title = { Text("Add an account at ${action.host}?") },
            text = { Text("Only continue if you started this on the sign-in page of ${action.host}.") },
            confirmButton = { Button(onClick = { onActivate(action) }) { Text("Continue") } },
            dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
        )
        is ScanAction.Explain -> AlertDialog(
            onDismissRequest = onDismiss,
            text = { Text(action.text) },
            confirmButton = { TextButton(onClick = onDismiss) { Text("OK") } },
        )
    }
}

@Composable
fun ActivationStatusScreen(status: ActivationStatus, onDone: () -> Unit) {
    Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text(status.issuer, style = MaterialTheme.typography.headlineSmall)
        Text("${status.label} at ${status.host}")
        when (status.phase) {
            ActivationPhase.WAITING_FOR_CONFIRMATION -> {
                Text("Activated. On the sign-in page, press Verify Now, then type the number it shows here.")
                Text("Confirm within ${status.secondsLeft / 60} min ${status.secondsLeft % 60} s.")
            }
            ActivationPhase.ACTIVE -> Text("Active: sign-in requests will come to this device.")
            ActivationPhase.CONFIRMATION_EXPIRED -> Text("The confirmation time ran out. Start again from the sign-in page.")
        }
        Button(onClick = onDone) { Text("Done") }
    }
}

/** Sign-in request: context, number entry (never pre-filled), Approve / Deny / Deny and report fraud. */
@Composable
fun ChallengeScreen(model: ChallengeModel, onApprove: () -> Unit, onDeny: () -> Unit, onConfirmFraud: () -> Unit, onClose: () -> Unit) {
    val s by model.state.collectAsState()
    val c = s.context
    Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.spacedBy(10.dp)) {
        Text(c.title, style = MaterialTheme.typography.headlineSmall)
        Text(c.app, style = MaterialTheme.typography.titleLarge)
        c.serverMessage?.let { Text(it) }
        c.displayCode?.let { Text(it.grouped, fontFamily = FontFamily.Monospace, fontSize = 28.sp) }
        Text("From ${c.location} (${c.ip})")
        c.client?.let { Text(it) }
        Text(c.time)
        if (!s.phase.isFinal) Text("${s.secondsLeft} s left", style = MaterialTheme.typography.labelMedium)
        s.message?.let { Text(it, color = if (s.phase.isFinal) MaterialTheme.colorScheme.onSurface else MaterialTheme.colorScheme.error) }
        s.approvalCode?.let { Text(it.grouped, fontFamily = FontFamily.Monospace, fontSize = 32.sp) }
        if (s.phase.isFinal) {
            Button(onClick = onClose) { Text("Close") }
            return@Column
        }
        c.numberLength?.let { n ->
            OutlinedTextField(
                s.typedNumber, model::onNumberChanged,
                label = { Text("Number shown on the sign-in page ($n digits)") },
                singleLine = true,
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number),
                enabled = s.phase == ChallengePhase.REVIEW,
            )
        }
        c.options.forEach { option ->
            Row(
                Modifier.fillMaxWidth().clickable(enabled = s.phase == ChallengePhase.REVIEW) { model.onOptionSelected(option) }
                    .padding(vertical = 6.dp),
                verticalAlignment = Alignment.CenterVertically,
            ) {
                RadioButton(selected = s.selectedOption == option, onClick = { model.onOptionSelected(option) })
                Text(option)
            }
        }
        Spacer(Modifier.height(8.dp))
        Button(onClick = onApprove, enabled = s.canApprove, modifier = Modifier.fillMaxWidth()) { Text("Approve") }
        OutlinedButton(onClick = onDeny, enabled = s.phase == ChallengePhase.REVIEW, modifier = Modifier.fillMaxWidth()) { Text("Deny") }
        if (c.fraudReportOffered) {
            TextButton(onClick = model::requestFraudReport, enabled = s.phase == ChallengePhase.REVIEW) {
                Text("Deny and report fraud", color = MaterialTheme.colorScheme.error)
            }
        }
    }
    if (s.phase == ChallengePhase.CONFIRM_FRAUD) {
        AlertDialog(
            onDismissRequest = model::cancelFraudReport,
            title = { Text("Report fraud?") },
            text = { Text("The sign-in is denied and your administrator is alerted. Further requests are blocked until they review it.") },
            confirmButton = { Button(onClick = onConfirmFraud) { Text("Deny and report") } },
            dismissButton = { TextButton(onClick = model::cancelFraudReport) { Text("Cancel") } },
        )
    }
}

@Composable
fun SettingsScreen(settings: LockSettings, onChange: (LockSettings) -> Unit, onLockNow: () -> Unit, onBack: () -> Unit) {
    Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("Lock", style = MaterialTheme.typography.headlineSmall)
        Row(verticalAlignment = Alignment.CenterVertically) {
            Text("Ask for fingerprint, face or PIN when opening", Modifier.weight(1f))
            Switch(settings.lockOnLaunch, { onChange(settings.copy(lockOnLaunch = it)) })
        }
        Text("Lock after leaving the app")
        LockSettings.LOCK_AFTER_CHOICES.forEach { secs ->
            Row(Modifier.fillMaxWidth().clickable { onChange(settings.copy(lockAfterSeconds = secs)) }.padding(4.dp)) {
                Text(if (secs == 0L) "Immediately" else if (secs < 60) "$secs seconds" else "${secs / 60} minutes", Modifier.weight(1f))
                if (settings.lockAfterSeconds == secs) Text("✓")
            }
        }
        Text("Approving a sign-in always asks for your fingerprint, face or PIN.", style = MaterialTheme.typography.bodySmall)
        OutlinedButton(onClick = onLockNow) { Text("Lock now") }
        TextButton(onClick = onBack) { Text("Back") }
    }
}

@Composable
fun LockedScreen(message: String?, onUnlock: () -> Unit) {
    Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.Center, horizontalAlignment = Alignment.CenterHorizontally) {
        Text("Countersign is locked", style = MaterialTheme.typography.headlineSmall)
        message?.let { Text(it) }
        Button(onClick = onUnlock) { Text("Unlock") }
    }
}

/** The vault did not open. It is kept as it is; nothing here deletes it. */
@Composable
fun OpenFailedScreen(message: String) {
    Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.Center) {
        Text("Your accounts could not be opened", style = MaterialTheme.typography.headlineSmall)
        Text(message)
    }
}
