package org.countersign.app.ui

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.countersign.app.logic.AccountListModel
import org.countersign.app.logic.ActivationStatus
import org.countersign.app.logic.AddAccountModel
import org.countersign.app.logic.ChallengeModel
import org.countersign.app.logic.ScanAction
import org.countersign.app.logic.SensitiveCode
import org.countersign.app.logic.UserMessage
import org.countersign.app.logic.UserVerification
import org.countersign.app.logic.userMessage
import org.countersign.app.platform.Session
import org.countersign.app.platform.countersign
import org.countersign.core.CountersignException
import org.countersign.core.PushChallenge

/** Android lifecycle around the plain-Kotlin models: core calls on IO, a 1 s ticker while shown. */
class AppViewModel(app: Application) : AndroidViewModel(app) {
    val session: Session? = app.countersign.session.getOrNull()
    val openFailure: UserMessage? = app.countersign.session.exceptionOrNull()?.let(::userMessage)

    val list: AccountListModel? = session?.let { AccountListModel(it.client, it.clock) }
    val add: AddAccountModel? = session?.let { s -> AddAccountModel(s.client, s.device) { s.pushTarget } }

    private val mutableChallenge = MutableStateFlow<ChallengeModel?>(null)
    val challenge: StateFlow<ChallengeModel?> = mutableChallenge.asStateFlow()

    private val mutableActivation = MutableStateFlow<ActivationStatus?>(null)
    val activation: StateFlow<ActivationStatus?> = mutableActivation.asStateFlow()

    private val mutableMessage = MutableStateFlow<UserMessage?>(null)
    val message: StateFlow<UserMessage?> = mutableMessage.asStateFlow()

    init {
        viewModelScope.launch(Dispatchers.IO) {
            list?.refresh()
            while (isActive) {
                delay(1_000)
                list?.tick()
                mutableChallenge.value?.tick()
                session?.let { s -> mutableActivation.value = mutableActivation.value?.tick(s.clock.nowUnixSeconds()) }
            }
        }
    }

    private fun io(block: suspend () -> Unit) = viewModelScope.launch(Dispatchers.IO) {
        try {
            block()
        } catch (e: CountersignException) {
            mutableMessage.value = userMessage(e)
        }
    }

    fun dismissMessage() {
        mutableMessage.value = null
    }

    suspend fun copy(id: Long): SensitiveCode? = withContext(Dispatchers.IO) { list?.copy(id) }

    fun revealHotp(id: Long) = io { list?.revealNextHotp(id) }

    fun lockNow() = io { list?.lock() }

    /** After BiometricPrompt succeeded on the lock screen. */
    fun unlock() = io {
        val s = session ?: return@io
        mutableMessage.value = s.lock.unlockAfterUserVerified()
        list?.refresh()
    }

    /** Polls the servers (app opened, or a notification tapped) and opens [challengeId] or the first request. */
    fun checkRequests(challengeId: String? = null) = io {
        val s = session ?: return@io
        val pending = s.push.poll()
        val pick = pending.firstOrNull { it.challengeId == challengeId } ?: pending.firstOrNull()
        pick?.let(::openChallenge)
    }

    private fun openChallenge(c: PushChallenge) {
        val s = session ?: return
        mutableChallenge.value = ChallengeModel(c, s.client, s.clock)
    }

    fun closeChallenge() {
        val c = mutableChallenge.value ?: return
        if (c.state.value.context.isActivation && c.state.value.phase == org.countersign.app.logic.ChallengePhase.APPROVED) {
            mutableActivation.value = mutableActivation.value?.confirmed()
        }
        mutableChallenge.value = null
        io { list?.refresh() }
    }

    fun approveAfter(result: UserVerification) = io { mutableChallenge.value?.onUserVerification(result) }
    fun deny() = io { mutableChallenge.value?.deny() }
    fun confirmFraud() = io { mutableChallenge.value?.confirmFraudReport() }

    fun addScanned(action: ScanAction.AddAccount) = io {
        add?.add(action)
        list?.refresh()
    }

    fun addUri(uri: String) = io {
        add?.addUri(uri)
        list?.refresh()
    }

    fun addFromImage(bytes: ByteArray, onAction: (ScanAction) -> Unit) = io {
        add?.onImage(bytes)?.let { withContext(Dispatchers.Main) { onAction(it) } }
    }

    fun activate(action: ScanAction.Activate) = io {
        val s = session ?: return@io
        val a = add?.activate(action) ?: return@io
        mutableActivation.value = ActivationStatus.waiting(a, s.clock.nowUnixSeconds())
        list?.refresh()
    }

    fun activateTyped(code: String, url: String) = io {
        val s = session ?: return@io
        val a = add?.activateTyped(code, url) ?: return@io
        mutableActivation.value = ActivationStatus.waiting(a, s.clock.nowUnixSeconds())
        list?.refresh()
    }

    fun dismissActivation() {
        mutableActivation.value = null
    }
}
