// Plain Kotlin (no android.*): compiled and tested on the JVM by android/scripts/jvm-check.sh.
package org.countersign.app.logic

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import org.countersign.core.AccountCode
import org.countersign.core.AccountEntry
import org.countersign.core.AccountKind
import org.countersign.core.AuthenticatorClientInterface
import org.countersign.core.Clock
import org.countersign.core.CodeState
import org.countersign.core.CountersignException
import org.countersign.core.InternalException

/** What one row shows on the right-hand side. */
sealed interface CodeDisplay {
    /** A TOTP / Steam code with its countdown. */
    data class Timed(val code: SensitiveCode, val countdown: Countdown) : CodeDisplay

    /** HOTP: a "show code" button; `revealed` once the user asked for the next code. */
    data class Counter(val nextCounter: ULong, val revealed: SensitiveCode?) : CodeDisplay

    /** A push account without offline codes. */
    data object PushOnly : CodeDisplay

    /** This account's stored data is damaged (the rest of the list is fine). */
    data object Unreadable : CodeDisplay

    /** The vault is locked: names only. */
    data object Locked : CodeDisplay
}

data class AccountRow(
    val id: Long,
    /** Issuer, or the account name when there is none. */
    val title: String,
    /** Account name under the issuer (null when the title already is the name). */
    val subtitle: String?,
    val isPush: Boolean,
    val display: CodeDisplay,
)

data class AccountListState(
    val rows: List<AccountRow> = emptyList(),
    val locked: Boolean = false,
    val message: UserMessage? = null,
    val loaded: Boolean = false,
)

/**
 * The account list: codes from the core, countdowns from the same [Clock] the core was opened
 * with (so "seconds left" and the code always agree), tap-to-copy and HOTP reveal.
 *
 * Calls into the core are blocking (SQLite): the Android ViewModel calls these methods on
 * `Dispatchers.IO`. [tick] is meant to run once a second while the list is visible; it asks the
 * core for new codes only when a shown code has expired, otherwise it only recomputes countdowns.
 */
class AccountListModel(
    private val client: AuthenticatorClientInterface,
    private val clock: Clock,
) {
    private val mutableState = MutableStateFlow(AccountListState())
    val state: StateFlow<AccountListState> = mutableState.asStateFlow()

    private var codes: List<AccountCode> = emptyList()
    private val revealedHotp = mutableMapOf<Long, SensitiveCode>()

    /** Earliest `valid_until` among shown codes: at or after it, [tick] refetches. */
    private var refreshAt: ULong = ULong.MAX_VALUE

    /** Fetches codes (or, while locked, the names) from the core. */
    @Synchronized
    fun refresh() {
        try {
            codes = client.codes()
            val now = clock.nowUnixSeconds()
            refreshAt = codes.mapNotNull { (it.state as? CodeState.Timed)?.code?.validUntil }
                .minOrNull() ?: ULong.MAX_VALUE
            mutableState.value = AccountListState(rows(now), locked = false, loaded = true)
        } catch (e: CountersignException.VaultLocked) {
            showLocked()
        } catch (e: CountersignException) {
            mutableState.value = mutableState.value.copy(message = userMessage(e), loaded = true)
        } catch (e: InternalException) {
            // A bug across the FFI (uniffi's unexpected error): a message, not a crashed ticker.
            mutableState.value = mutableState.value.copy(message = userMessage(e), loaded = true)
        }
    }

    /** Once a second: new countdowns, and new codes when one expired. */
    @Synchronized
    fun tick() {
        val current = mutableState.value
        if (current.locked) return
        val now = clock.nowUnixSeconds()
        if (now >= refreshAt || !current.loaded) {
            refresh()
        } else {
            mutableState.value = current.copy(rows = rows(now))
        }
    }

    /**
     * The code to put on the clipboard for row [id], or null when the row has none to copy. Records
     * the use for "recently used" ordering. The caller marks the clip sensitive and never logs it.
     */
    @Synchronized
    fun copy(id: Long): SensitiveCode? {
        val row = mutableState.value.rows.firstOrNull { it.id == id } ?: return null
        val code = when (val d = row.display) {
            is CodeDisplay.Timed -> if (d.countdown.secondsLeft > 0) d.code else null
            is CodeDisplay.Counter -> d.revealed
            else -> null
        } ?: return null
        try {
            client.markUsed(id)
        } catch (e: CountersignException) {
            // Ordering is cosmetic: copying still works.
        }
        return code
    }

    /** HOTP: hands out the next code (the core saves the counter first) and shows it on the row. */
    @Synchronized
    fun revealNextHotp(id: Long): SensitiveCode? = try {
        val issued = client.nextHotp(id)
        SensitiveCode(issued.code).also {
            revealedHotp[id] = it
            refresh()
        }
    } catch (e: CountersignException) {
        if (e is CountersignException.VaultLocked) showLocked()
        else mutableState.value = mutableState.value.copy(message = userMessage(e))
        null
    }

    /** Locks the vault now (settings, or the app lock when backgrounded). */
    @Synchronized
    fun lock() {
        client.lock()
        showLocked()
    }

    fun dismissMessage() {
        mutableState.value = mutableState.value.copy(message = null)
    }

    private fun showLocked() {
        codes = emptyList()
        revealedHotp.clear()
        refreshAt = ULong.MAX_VALUE
        val rows = try {
            client.listAccounts().map { row(it, CodeDisplay.Locked) }
        } catch (e: CountersignException) {
            emptyList()
        }
        mutableState.value = AccountListState(
            rows, locked = true, message = userMessage(CountersignException.VaultLocked("locked")),
            loaded = true,
        )
    }

    private fun rows(now: ULong): List<AccountRow> = codes.map { c ->
        val display = when (val s = c.state) {
            is CodeState.Timed ->
                CodeDisplay.Timed(SensitiveCode(s.code.code), Countdown.of(now, s.code.validUntil, s.period))
            is CodeState.CounterBased -> CodeDisplay.Counter(s.counter, revealedHotp[c.account.id])
            CodeState.NoCode -> CodeDisplay.PushOnly
            CodeState.Unreadable -> CodeDisplay.Unreadable
        }
        row(c.account, display)
    }

    private fun row(a: AccountEntry, display: CodeDisplay): AccountRow {
        val issuer = a.issuer?.takeIf { it.isNotBlank() }
        return AccountRow(
            id = a.id,
            title = issuer ?: a.name,
            subtitle = if (issuer != null) a.name else null,
            isPush = a.kind != AccountKind.OATH,
            display = display,
        )
    }
}
