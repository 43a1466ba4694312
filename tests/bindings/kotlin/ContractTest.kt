// The Kotlin/JVM side of the binding contract: the generated org.countersign.core package, called
// the way the Android shell will call it, with a Kotlin KeyStore and Clock. A plain main() (no
// JUnit on this machine): each check is a named function; the run ends with the line
// "kotlin: N passed, M failed" and exits non-zero if anything failed.
//
// Compiled and run by tests/bindings/run.sh:
//   kotlinc <generated>/kotlin/**/*.kt ContractTest.kt -cp jna.jar:kotlin-test.jar -d contract.jar
//   java -Djna.library.path=<generated>/lib -cp contract.jar:jna.jar:kotlin-stdlib.jar:... \
//        org.countersign.tests.ContractTestKt

package org.countersign.tests

import java.io.File
import java.nio.file.Files
import java.security.SecureRandom
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.SecretKeySpec
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.countersign.core.AccountCode
import org.countersign.core.AuthenticatorClient
import org.countersign.core.Clock
import org.countersign.core.CodeState
import org.countersign.core.CountersignException
import org.countersign.core.DesktopKeyStore
import org.countersign.core.InternalException
import org.countersign.core.KeyStore
import org.countersign.core.KeyStoreException
import org.countersign.core.OtpType
import org.countersign.core.codeForUri
import org.countersign.core.parseAccountUri

// --- RFC vectors -----------------------------------------------------------------------------

private val B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

/** Unpadded base32, as otpauth URIs carry secrets. */
fun base32(bytes: ByteArray): String {
    val out = StringBuilder()
    var buffer = 0
    var bits = 0
    for (b in bytes) {
        buffer = (buffer shl 8) or (b.toInt() and 0xff)
        bits += 8
        while (bits >= 5) {
            out.append(B32[(buffer shr (bits - 5)) and 31])
            bits -= 5
        }
    }
    if (bits > 0) out.append(B32[(buffer shl (5 - bits)) and 31])
    return out.toString()
}

val SEEDS = mapOf(
    "SHA1" to "12345678901234567890",
    "SHA256" to "12345678901234567890123456789012",
    "SHA512" to "1234567890123456789012345678901234567890123456789012345678901234",
).mapValues { base32(it.value.toByteArray()) }

/** RFC 6238 appendix B: time to (SHA1, SHA256, SHA512) codes. */
val RFC6238 = listOf(
    59L to listOf("94287082", "46119246", "90693936"),
    1111111109L to listOf("07081804", "68084774", "25091201"),
    1111111111L to listOf("14050471", "67062674", "99943326"),
    1234567890L to listOf("89005924", "91819424", "93441116"),
    2000000000L to listOf("69279037", "90698825", "38618901"),
    20000000000L to listOf("65353130", "77737706", "47863826"),
)

/** RFC 4226 appendix D, counters 0..9. */
val RFC4226 = listOf(
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
)

fun totpUri(alg: String = "SHA1", name: String = "alice") =
    "otpauth://totp/ACME:$name?secret=${SEEDS.getValue(alg)}&issuer=ACME&algorithm=$alg&digits=8"

fun hotpUri(counter: Long = 0, name: String = "bob") =
    "otpauth://hotp/Bank:$name?secret=${SEEDS.getValue("SHA1")}&issuer=Bank&counter=$counter"

// --- Kotlin implementations of the foreign traits --------------------------------------------

/** A settable clock; Rust may call it from any thread. */
class FixedClock(start: Long) : Clock {
    val now = AtomicLong(start)
    val calls = AtomicInteger()
    var failWith: RuntimeException? = null

    override fun nowUnixSeconds(): ULong {
        calls.incrementAndGet()
        failWith?.let { throw it }
        return now.get().toULong()
    }
}

/** What a shell's key store does, with a JVM AES-256-GCM key instead of the Android Keystore. */
class AesGcmKeyStore(
    val kek: ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) },
    private val kindName: String = "kotlin-aes-gcm",
) : KeyStore {
    val wrapCalls = AtomicInteger()
    val unwrapCalls = AtomicInteger()
    @Volatile var failUnwrap: Exception? = null
    @Volatile var unwrapReturns: ByteArray? = null

    override fun kind(): String = kindName

    override fun wrap(dataKey: ByteArray): ByteArray {
        wrapCalls.incrementAndGet()
        check(dataKey.size == 32) { "data key of ${dataKey.size} bytes" }
        val nonce = ByteArray(12).also { SecureRandom().nextBytes(it) }
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, SecretKeySpec(kek, "AES"), GCMParameterSpec(128, nonce))
        cipher.updateAAD(kindName.toByteArray())
        return nonce + cipher.doFinal(dataKey)
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        unwrapCalls.incrementAndGet()
        failUnwrap?.let { throw it }
        unwrapReturns?.let { return it }
        if (wrapped.size < 12 + 16) throw KeyStoreException.WrongKey()
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(
            Cipher.DECRYPT_MODE, SecretKeySpec(kek, "AES"), GCMParameterSpec(128, wrapped, 0, 12),
        )
        cipher.updateAAD(kindName.toByteArray())
        try {
            return cipher.doFinal(wrapped, 12, wrapped.size - 12)
        } catch (e: AEADBadTagException) {
            throw KeyStoreException.WrongKey()
        }
    }
}

// --- helpers ---------------------------------------------------------------------------------

val scratch: File = Files.createTempDirectory("countersign-kotlin").toFile()
val vaultCounter = AtomicInteger()

fun newVaultPath(): String = File(scratch, "vault-${vaultCounter.incrementAndGet()}.db").path

fun timedCode(row: AccountCode): String {
    val state = row.state
    assertIs<CodeState.Timed>(state, "expected a timed code, got $state")
    return state.code.code
}

// --- checks ----------------------------------------------------------------------------------

fun rfc6238ThroughCodeForUri() {
    for ((t, codes) in RFC6238) {
        listOf("SHA1", "SHA256", "SHA512").forEachIndexed { i, alg ->
            val info = codeForUri(totpUri(alg), t.toULong(), null)
            assertEquals(codes[i], info.code, "$alg at $t")
            assertEquals((t - t % 30).toULong(), info.validFrom)
            assertEquals(info.validFrom + 30u, info.validUntil)
        }
    }
}

fun rfc4226ThroughCodeForUri() {
    RFC4226.forEachIndexed { counter, code ->
        assertEquals(code, codeForUri(hotpUri(), 0u, counter.toULong()).code, "counter $counter")
    }
    assertEquals(RFC4226[3], codeForUri(hotpUri(counter = 3), 0u, null).code)
}

fun parseAccountUriAndTypedErrors() {
    val info = parseAccountUri(totpUri("SHA512"))
    assertEquals(OtpType.TOTP, info.otpType)
    assertEquals("ACME", info.issuer)
    assertEquals("alice", info.accountName)
    assertEquals("SHA512", info.algorithm)
    assertEquals(8.toUByte(), info.digits)
    assertEquals(30uL, info.period)
    assertEquals(512u, info.secretBits)

    val missing = assertFailsWith<CountersignException.InvalidInput> {
        parseAccountUri("otpauth://totp/x")
    }
    assertEquals("secret", missing.field)
    val digits = assertFailsWith<CountersignException.InvalidInput> {
        parseAccountUri("otpauth://totp/x?secret=GEZDGNBV&digits=5")
    }
    assertEquals("digits", digits.field)
    val notOtp = assertFailsWith<CountersignException.InvalidInput> {
        parseAccountUri("https://example.com")
    }
    assertNull(notOtp.field)
    assertFailsWith<CountersignException.Unsupported> {
        parseAccountUri("otpauth-migration://offline?data=AAAA")
    }
    // One catch clause for all of them, as a shell writes it.
    val any: CountersignException = assertFailsWith { parseAccountUri("otpauth://") }
    assertTrue(any.message!!.isNotEmpty())
}

fun clientWithKotlinKeyStoreAndClock() {
    val store = AesGcmKeyStore()
    val clock = FixedClock(59)
    val path = newVaultPath()
    AuthenticatorClient.open(path, store, clock).use { client ->
        assertFalse(client.isLocked())
        assertEquals(path, client.vaultPath())
        val ids = listOf("SHA1", "SHA256", "SHA512").map {
            client.addAccountFromUri(totpUri(it, name = it)).account.id
        }
        val hotp = client.addAccountFromUri(hotpUri()).account.id
        assertEquals(59uL, client.listAccounts().first().createdAt)
        for ((t, codes) in RFC6238) {
            clock.now.set(t)
            val rows = client.codes()
            assertEquals(ids + hotp, rows.map { it.account.id })
            assertEquals(codes, rows.take(3).map(::timedCode), "codes at $t")
            assertEquals(CodeState.CounterBased(0uL), rows[3].state)
        }
        assertTrue(clock.calls.get() >= RFC6238.size)
        for (counter in 0 until 5) {
            val issued = client.nextHotp(hotp)
            assertEquals(counter.toULong(), issued.counter)
            assertEquals(RFC4226[counter], issued.code)
        }
        assertEquals(CodeState.CounterBased(5uL), client.codes()[3].state)
    }
    // Reopen with a new store object holding the same key: accounts and the counter survive.
    val again = AesGcmKeyStore(kek = store.kek)
    AuthenticatorClient.open(path, again, FixedClock(59)).use { client ->
        assertEquals(1, again.unwrapCalls.get())
        assertEquals(listOf("94287082", "46119246", "90693936"), client.codes().take(3).map(::timedCode))
        assertEquals(RFC4226[5], client.nextHotp(client.listAccounts()[3].id).code)
    }
}

fun accountManagement() {
    AuthenticatorClient.open(newVaultPath(), AesGcmKeyStore(), FixedClock(1000)).use { client ->
        val a = client.addAccountFromUri(totpUri(name = "a")).account.id
        val b = client.addAccountFromUri(totpUri(name = "b")).account.id
        val c = client.addAccountFromUri(hotpUri(name = "c")).account.id
        client.renameAccount(a, "Alpha", "alice")
        client.reorderAccounts(listOf(c, a, b))
        client.setAccountGroups(a, listOf("Work", "Finance"))
        client.markUsed(b)
        val listed = client.listAccounts()
        assertEquals(listOf(c, a, b), listed.map { it.id })
        assertEquals("Alpha" to "alice", listed[1].issuer to listed[1].name)
        assertEquals(setOf("Work", "Finance"), listed[1].groups.toSet())
        assertEquals(1000uL, listed[2].lastUsedAt)
        assertEquals("Alpha", client.accountInfo(a).issuer)
        client.deleteAccount(a)
        assertEquals(listOf(c, b), client.listAccounts().map { it.id })
        assertFailsWith<CountersignException.NotFound> { client.accountInfo(a) }
        assertFailsWith<CountersignException.InvalidInput> { client.reorderAccounts(listOf(b)) }
        assertFailsWith<CountersignException.Unsupported> { client.nextHotp(b) }
        val report = client.checkVault()
        assertTrue(report.databaseOk)
        assertEquals(2u, report.accountsChecked)
        assertEquals(emptyList(), report.unreadable)
        assertEquals("kotlin-aes-gcm", report.keyStore)
    }
}

fun lockThenVaultLockedThenUnlock() {
    AuthenticatorClient.open(newVaultPath(), AesGcmKeyStore(), FixedClock(59)).use { client ->
        client.addAccountFromUri(totpUri())
        client.lock()
        assertTrue(client.isLocked())
        assertFailsWith<CountersignException.VaultLocked> { client.codes() }
        assertFailsWith<CountersignException.VaultLocked> { client.addAccountFromUri(totpUri(name = "x")) }
        assertEquals(1, client.listAccounts().size) // the list works while locked
        client.unlock()
        assertFalse(client.isLocked())
        assertEquals("94287082", timedCode(client.codes()[0]))
    }
}

fun failingKeyStoreCallbacksBecomeTypedExceptions() {
    val store = AesGcmKeyStore()
    AuthenticatorClient.open(newVaultPath(), store, FixedClock(59)).use { client ->
        client.addAccountFromUri(totpUri())
        val cases: List<Pair<Exception, (CountersignException) -> Boolean>> = listOf(
            KeyStoreException.Locked() to { e -> e is CountersignException.KeyStoreLocked },
            KeyStoreException.Unavailable("no keystore") to { e -> e is CountersignException.KeyStoreUnavailable },
            KeyStoreException.WrongKey() to { e -> e is CountersignException.KeyStoreUnavailable },
            KeyStoreException.Failed("hardware") to { e -> e is CountersignException.KeyStoreUnavailable },
            IllegalStateException("a bug in the shell") to { e -> e is CountersignException.KeyStoreUnavailable },
            NullPointerException() to { e -> e is CountersignException.KeyStoreUnavailable },
        )
        for ((thrown, expected) in cases) {
            client.lock()
            store.failUnwrap = thrown
            val e = assertFailsWith<CountersignException>("unwrap throwing $thrown") { client.unlock() }
            assertTrue(expected(e), "unwrap throwing ${thrown::class.simpleName} gave ${e::class.simpleName}")
            assertTrue(client.isLocked())
            store.failUnwrap = null
            client.unlock()
            assertEquals("94287082", timedCode(client.codes()[0]))
        }
        val withText = run {
            client.lock()
            store.failUnwrap = IllegalStateException("shell bug 4711")
            assertFailsWith<CountersignException.KeyStoreUnavailable> { client.unlock() }
        }
        assertContains(withText.message!!, "shell bug 4711")
        store.failUnwrap = null
    }
}

fun garbageFromKeyStoreIsTyped() {
    val store = AesGcmKeyStore()
    AuthenticatorClient.open(newVaultPath(), store, FixedClock(59)).use { client ->
        client.addAccountFromUri(totpUri())
        for (garbage in listOf(ByteArray(0), ByteArray(31), ByteArray(32), ByteArray(32) { 7 }, ByteArray(5000))) {
            client.lock()
            store.unwrapReturns = garbage
            assertFailsWith<CountersignException.KeyStoreUnavailable>("${garbage.size} bytes") { client.unlock() }
            store.unwrapReturns = null
        }
        client.unlock()
        assertEquals(1, client.codes().size)
    }
}

fun wrongKeyStoreIsKeyStoreUnavailable() {
    val path = newVaultPath()
    AuthenticatorClient.open(path, AesGcmKeyStore(), FixedClock(59)).use { it.addAccountFromUri(totpUri()) }
    val bytes = File(path).readBytes()
    assertFailsWith<CountersignException.KeyStoreUnavailable> {
        AuthenticatorClient.open(path, AesGcmKeyStore(), FixedClock(59))
    }
    val e = assertFailsWith<CountersignException.KeyStoreUnavailable> {
        AuthenticatorClient.open(path, AesGcmKeyStore(kindName = "android-keystore"), FixedClock(59))
    }
    assertContains(e.message!!, "android-keystore")
    assertTrue(bytes.contentEquals(File(path).readBytes()), "the vault file changed")
}

fun raisingClockIsAnExceptionNotACrash() {
    val clock = FixedClock(59)
    AuthenticatorClient.open(newVaultPath(), AesGcmKeyStore(), clock).use { client ->
        client.addAccountFromUri(totpUri())
        clock.failWith = IllegalStateException("no time source")
        // Clock has no error type: uniffi reports the failure as InternalException.
        val e = assertFailsWith<Exception> { client.codes() }
        assertTrue(e is InternalException || e is CountersignException, "got $e")
        clock.failWith = null
        assertEquals("94287082", timedCode(client.codes()[0]))
    }
}

fun desktopEphemeralAndPassphraseFile() {
    val path = newVaultPath()
    AuthenticatorClient.openDesktop(path, DesktopKeyStore.Ephemeral, FixedClock(59)).use { client ->
        client.addAccountFromUri(totpUri())
        assertEquals("memory", client.checkVault().keyStore)
        val pass = File(scratch, "passphrase").apply { writeText("kotlin passphrase\n") }
        client.rewrapDesktop(DesktopKeyStore.PassphraseFile(pass.path))
    }
    val pass = DesktopKeyStore.PassphraseFile(File(scratch, "passphrase").path)
    AuthenticatorClient.openDesktop(path, pass, FixedClock(59)).use { client ->
        assertEquals("94287082", timedCode(client.codes()[0]))
    }
    assertFailsWith<CountersignException.KeyStoreUnavailable> {
        AuthenticatorClient.openDesktop(path, DesktopKeyStore.Ephemeral, null)
    }
}

fun concurrentCodesAndNextHotp() {
    val threads = 8
    val perThread = 20
    AuthenticatorClient.open(newVaultPath(), AesGcmKeyStore(), FixedClock(59)).use { client ->
        client.addAccountFromUri(totpUri())
        val hotp = client.addAccountFromUri(hotpUri()).account.id
        val issued = ConcurrentLinkedQueue<ULong>()
        val seen = ConcurrentLinkedQueue<String>()
        val barrier = CyclicBarrier(threads)
        val pool = Executors.newFixedThreadPool(threads)
        val futures = (0 until threads).map { i ->
            pool.submit {
                barrier.await(30, TimeUnit.SECONDS)
                repeat(perThread) {
                    if (i % 2 == 0) {
                        val h = client.nextHotp(hotp)
                        assertEquals(codeForUri(hotpUri(), 0u, h.counter).code, h.code)
                        issued.add(h.counter)
                    } else {
                        seen.add(timedCode(client.codes()[0]))
                    }
                }
            }
        }
        futures.forEach { it.get(120, TimeUnit.SECONDS) }
        pool.shutdown()
        val counters = issued.toList().sorted()
        assertEquals((0 until counters.size).map { it.toULong() }, counters, "HOTP counters unique")
        assertEquals(threads / 2 * perThread, counters.size)
        assertEquals(setOf("94287082"), seen.toSet())
    }
}

/** uniffi's async methods are suspend functions on the library's tokio runtime. No server here:
 *  without push accounts the call completes locally. */
fun asyncCallsFromCoroutines() {
    AuthenticatorClient.open(newVaultPath(), AesGcmKeyStore(), FixedClock(59)).use { client ->
        val results = runBlocking {
            (0 until 16).map { async { client.pendingChallenges() } }.awaitAll()
        }
        assertEquals(List(16) { emptyList() }, results)
        assertFailsWith<CountersignException.InvalidInput> { client.activationHost("not a payload") }
        assertNull(client.accountForChallenge("no-such-challenge"))
    }
}

/** run.sh compiles a patched copy when the generated file does not compile as generated. */
fun generatedKotlinCompilesUnmodified() {
    if (System.getProperty("countersign.generatedKotlinPatched") == "true") {
        throw AssertionError(
            "the generated Kotlin only compiled after renaming error fields called `message` " +
                "(they clash with Throwable.message); rename them in bindings/src",
        )
    }
}

// --- runner ----------------------------------------------------------------------------------

fun main() {
    val checks: List<Pair<String, () -> Unit>> = listOf(
        "generated Kotlin compiles unmodified" to ::generatedKotlinCompilesUnmodified,
        "RFC 6238 through codeForUri" to ::rfc6238ThroughCodeForUri,
        "RFC 4226 through codeForUri" to ::rfc4226ThroughCodeForUri,
        "parseAccountUri and typed errors" to ::parseAccountUriAndTypedErrors,
        "client with Kotlin KeyStore and Clock" to ::clientWithKotlinKeyStoreAndClock,
        "account management" to ::accountManagement,
        "lock, VaultLocked, unlock" to ::lockThenVaultLockedThenUnlock,
        "failing KeyStore callbacks become typed exceptions" to ::failingKeyStoreCallbacksBecomeTypedExceptions,
        "garbage from the KeyStore is typed" to ::garbageFromKeyStoreIsTyped,
        "wrong KeyStore is KeyStoreUnavailable" to ::wrongKeyStoreIsKeyStoreUnavailable,
        "raising Clock is an exception, not a crash" to ::raisingClockIsAnExceptionNotACrash,
        "desktop Ephemeral and PassphraseFile" to ::desktopEphemeralAndPassphraseFile,
        "concurrent codes and nextHotp" to ::concurrentCodesAndNextHotp,
        "async calls from coroutines" to ::asyncCallsFromCoroutines,
    )
    var passed = 0
    var failed = 0
    for ((name, check) in checks) {
        val started = System.nanoTime()
        try {
            check()
            passed++
            println("PASS  $name (${(System.nanoTime() - started) / 1_000_000} ms)")
        } catch (t: Throwable) {
            failed++
            println("FAIL  $name: $t")
            t.printStackTrace(System.out)
        }
    }
    scratch.deleteRecursively()
    println("kotlin: $passed passed, $failed failed")
    System.out.flush()
    // The JNA cleaner thread is not a daemon in every configuration: exit explicitly.
    kotlin.system.exitProcess(if (failed == 0) 0 else 1)
}
