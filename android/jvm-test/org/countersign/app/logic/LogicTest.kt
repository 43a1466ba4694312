// The Android shell's plain-Kotlin logic (android/app/src/main/kotlin/org/countersign/app/logic)
// on the JVM, against the real host library through the JVM flavour of the generated bindings.
// No fakes of the core: vaults are real files, codes are the core's, and the push checks run the
// reference server (tests/server) as a process. A plain main(); the last line is
// "android-logic: N passed, M failed". Run by android/scripts/jvm-check.sh.
package org.countersign.app.logic

import java.io.File
import java.nio.ByteBuffer
import java.time.ZoneId
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.countersign.core.AccountCode
import org.countersign.core.AuthenticatorClient
import org.countersign.core.AuthenticatorClientInterface
import org.countersign.core.ChallengeKind
import org.countersign.core.CountersignException
import org.countersign.core.Decision
import org.countersign.core.DeviceDescription
import org.countersign.core.KeyStoreException
import org.countersign.core.NetworkOptions
import org.countersign.core.Outcome
import org.countersign.core.PushChallenge
import org.countersign.core.PushTarget
import org.countersign.core.codeForUri

// RFC 4226 / 6238 secret "12345678901234567890" in base32.
const val RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
const val TOTP_URI = "otpauth://totp/ACME:alice?secret=$RFC_SECRET&issuer=ACME&digits=8"
const val HOTP_URI = "otpauth://hotp/Bank:bob?secret=$RFC_SECRET&issuer=Bank&counter=0"
const val PLAIN_URI = "otpauth://totp/carol?secret=$RFC_SECRET"

/** The real client, counting the calls the models make. */
class CountingClient(private val inner: AuthenticatorClient) : AuthenticatorClientInterface by inner {
    val codesCalls = AtomicInteger()
    val answers = AtomicInteger()

    override fun codes(): List<AccountCode> {
        codesCalls.incrementAndGet()
        return inner.codes()
    }

    override suspend fun answerChallenge(accountId: Long, challengeId: String, decision: Decision): Outcome {
        answers.incrementAndGet()
        return inner.answerChallenge(accountId, challengeId, decision)
    }
}

fun timed(row: AccountRow): CodeDisplay.Timed {
    val d = row.display
    assertIs<CodeDisplay.Timed>(d, "row ${row.title} shows $d")
    return d
}

// --- offline checks --------------------------------------------------------------------------

fun codeFormattingAndCountdown() {
    assertEquals("123 456", groupCode("123456"))
    assertEquals("1234 567", groupCode("1234567"))
    assertEquals("1234 5678", groupCode("12345678"))
    assertEquals("12345 67890", groupCode("1234567890"))
    assertEquals("5QX7K", groupCode("5QX7K")) // Steam
    val code = SensitiveCode("94287082")
    assertEquals("9428 7082", code.grouped)
    assertEquals("94287082", code.reveal())
    assertFalse("94287082" in code.toString() || "9428" in code.toString(), "toString leaks the code")

    val c = Countdown.of(59u, 60u, 30u)
    assertEquals(1, c.secondsLeft)
    assertTrue(c.urgent)
    assertEquals(0, Countdown.of(61u, 60u, 30u).secondsLeft)
    val full = Countdown.of(30u, 60u, 30u)
    assertEquals(30, full.secondsLeft)
    assertEquals(1f, full.fraction)
    assertFalse(full.urgent)
    assertEquals(0.5f, Countdown.of(45u, 60u, 30u).fraction)
}

fun listShowsTheCoresCodesAndCountdown() {
    val clock = FixedClock(1111111085)
    val key = newAesKey()
    AuthenticatorClient.open(newVaultPath(), GcmKeyWrapper("jvm-aes-gcm", { key }), clock).use { real ->
        val client = CountingClient(real)
        val totp = client.addAccountFromUri(TOTP_URI).account.id
        val hotp = client.addAccountFromUri(HOTP_URI).account.id
        client.addAccountFromUri(PLAIN_URI)
        val model = AccountListModel(client, clock)
        model.refresh()
        val rows = model.state.value.rows
        assertEquals(listOf("ACME", "Bank", "carol"), rows.map { it.title })
        assertEquals(listOf("alice", "bob", null), rows.map { it.subtitle })
        assertFalse(rows.any { it.isPush })

        // The code the core computes for that instant (RFC 6238: 07081804), 25 s left.
        var row = timed(rows[0])
        assertEquals(codeForUri(TOTP_URI, 1111111085u, null).code, row.code.reveal())
        assertEquals("07081804", row.code.reveal())
        assertEquals(Countdown(25, 30), row.countdown)
        assertEquals(1, client.codesCalls.get())

        // Ticks inside the window recompute countdowns without asking the core.
        clock.now.set(1111111090)
        model.tick()
        assertEquals(20, timed(model.state.value.rows[0]).countdown.secondsLeft)
        clock.now.set(1111111105)
        model.tick()
        assertTrue(timed(model.state.value.rows[0]).countdown.urgent)
        assertEquals(1, client.codesCalls.get())

        // The window ends: new code from the core.
        clock.now.set(1111111111)
        model.tick()
        assertEquals(2, client.codesCalls.get())
        row = timed(model.state.value.rows[0])
        assertEquals("14050471", row.code.reveal())
        assertEquals(29, row.countdown.secondsLeft)
        assertFalse("14050471" in model.state.value.toString(), "the list state prints a code")

        // Tap to copy: the current code, and the use is recorded.
        assertEquals("14050471", model.copy(totp)?.reveal())
        assertEquals(1111111111uL, client.listAccounts().first { it.id == totp }.lastUsedAt)

        // HOTP: nothing to copy until revealed; the counter advances in the vault.
        assertEquals(CodeDisplay.Counter(0u, null), model.state.value.rows[1].display)
        assertNull(model.copy(hotp))
        assertEquals("755224", model.revealNextHotp(hotp)?.reveal())
        assertEquals(CodeDisplay.Counter(1u, SensitiveCode("755224")), model.state.value.rows[1].display)
        assertEquals("755224", model.copy(hotp)?.reveal())
        assertEquals("287082", model.revealNextHotp(hotp)?.reveal())
    }
}

fun lockSettingsAndLockedList() {
    val clock = FixedClock(59)
    val key = newAesKey()
    var userPresent = true
    class UserNotAuthenticated : Exception()
    val store = GcmKeyWrapper(
        "jvm-aes-gcm",
        { if (userPresent) key else throw UserNotAuthenticated() },
        { e -> if (e is UserNotAuthenticated) KeyStoreException.Locked() else null },
    )
    AuthenticatorClient.open(newVaultPath(), store, clock).use { real ->
        val client = CountingClient(real)
        client.addAccountFromUri(TOTP_URI)
        val model = AccountListModel(client, clock)
        model.refresh()
        assertEquals("94287082", timed(model.state.value.rows[0]).code.reveal())

        model.lock()
        val locked = model.state.value
        assertTrue(locked.locked && client.isLocked())
        assertEquals(CodeDisplay.Locked, locked.rows.single().display)
        assertEquals("ACME", locked.rows.single().title) // names stay visible while locked
        assertEquals(NextStep.UNLOCK, locked.message?.next)
        assertNull(model.copy(locked.rows.single().id))
        val calls = client.codesCalls.get()
        model.tick()
        assertEquals(calls, client.codesCalls.get(), "a locked list asks for codes")

        val lock = AppLock(client, clock, LockSettings(lockOnLaunch = false, lockAfterSeconds = 60))
        assertNull(lock.unlockAfterUserVerified())
        model.refresh()
        assertFalse(model.state.value.locked)

        lock.onBackground()
        clock.now.addAndGet(30)
        assertFalse(lock.onForeground(), "locked after 30 s with a 60 s setting")
        lock.onBackground()
        clock.now.addAndGet(61)
        assertTrue(lock.onForeground(), "not locked after 61 s with a 60 s setting")
        assertTrue(client.isLocked())

        // The key store needs the user: a message that asks to unlock, then it works.
        userPresent = false
        assertEquals(NextStep.UNLOCK, lock.unlockAfterUserVerified()?.next)
        assertTrue(client.isLocked())
        userPresent = true
        assertNull(lock.unlockAfterUserVerified())

        lock.settings = LockSettings(lockOnLaunch = true)
        assertTrue(lock.onLaunch())
        lock.settings = LockSettings(lockOnLaunch = false, lockAfterSeconds = 0)
        lock.unlockAfterUserVerified()
        assertFalse(lock.onLaunch())
        lock.onBackground()
        assertTrue(client.isLocked(), "lock-after 0 s did not lock when backgrounded")
    }
}

/** A failing foreign callback (here the Clock, which has no error type) is a message, not a crash. */
fun failingClockIsAMessage() {
    var fail = false
    val clock = object : org.countersign.core.Clock {
        override fun nowUnixSeconds(): ULong {
            if (fail) throw IllegalStateException("no time source")
            return 59u
        }
    }
    val key = newAesKey()
    AuthenticatorClient.open(newVaultPath(), GcmKeyWrapper("jvm-aes-gcm", { key }), clock).use { client ->
        client.addAccountFromUri(TOTP_URI)
        val model = AccountListModel(client, clock)
        model.refresh()
        assertEquals("94287082", timed(model.state.value.rows[0]).code.reveal())
        fail = true
        model.refresh()
        assertEquals(NextStep.CONTACT_SUPPORT, model.state.value.message?.next)
        fail = false
        model.dismissMessage()
        model.refresh()
        assertNull(model.state.value.message)
        assertEquals("94287082", timed(model.state.value.rows[0]).code.reveal())
    }
}

fun keyWrappingWithTheVault() {
    val key = newAesKey()
    val store = GcmKeyWrapper("jvm-aes-gcm", { key })
    val data = ByteArray(32) { 7 }
    val blob = store.wrap(data)
    assertEquals(1 + 12 + 32 + 16, blob.size)
    assertEquals(1, blob[0].toInt())
    assertTrue(data.all { it == 0.toByte() }, "wrap left the plain data key in the caller's array")
    assertTrue(store.unwrap(blob).all { it == 7.toByte() })
    assertFailsWith<KeyStoreException.WrongKey> { store.unwrap(blob.copyOf().also { it[20] = (it[20] + 1).toByte() }) }
    assertFailsWith<KeyStoreException.WrongKey> { GcmKeyWrapper("other-kind", { key }).unwrap(blob) }
    assertFailsWith<KeyStoreException.WrongKey> { store.unwrap(ByteArray(3)) }

    val path = newVaultPath()
    AuthenticatorClient.open(path, store, FixedClock(59)).use { it.addAccountFromUri(TOTP_URI) }
    AuthenticatorClient.open(path, GcmKeyWrapper("jvm-aes-gcm", { key }), FixedClock(59)).use {
        assertEquals("jvm-aes-gcm", it.checkVault().keyStore)
        val m = AccountListModel(it, FixedClock(59)).apply { refresh() }
        assertEquals("94287082", timed(m.state.value.rows[0]).code.reveal())
    }
    val before = File(path).readBytes()
    val e = assertFailsWith<CountersignException.KeyStoreUnavailable> {
        AuthenticatorClient.open(path, GcmKeyWrapper("jvm-aes-gcm", { newAesKey() }), FixedClock(59))
    }
    assertEquals(NextStep.CONTACT_SUPPORT, userMessage(e).next)
    assertTrue(before.contentEquals(File(path).readBytes()), "a failed open changed the vault")
}

fun errorMessagesForEveryVariant() {
    val key = newAesKey()
    AuthenticatorClient.open(newVaultPath(), GcmKeyWrapper("jvm-aes-gcm", { key }), FixedClock(59)).use { client ->
        val add = AddAccountModel(client, DeviceDescription("JVM", "android", "0"), { PushTarget("none", "") })
        val missing = assertFailsWith<CountersignException.InvalidInput> { add.addUri("otpauth://totp/x") }
        val m = userMessage(missing)
        assertEquals(NextStep.FIX_INPUT, m.next)
        assertTrue(m.text.endsWith("(check the secret)"), m.text)
        val migration = assertFailsWith<CountersignException.Unsupported> {
            add.addUri("otpauth-migration://offline?data=AAAA")
        }
        assertEquals(NextStep.DISMISS, userMessage(migration).next)
        assertEquals(NextStep.DISMISS, userMessage(assertFailsWith<CountersignException.NotFound> { client.accountInfo(4242) }).next)
        // The "enter code and URL manually" screen: blank fields and typos never reach the network.
        val blank = assertFailsWith<CountersignException.InvalidInput> { runBlocking { add.activateTyped(" ", "https://mfa.example") } }
        assertEquals("code", blank.field)
        assertFailsWith<CountersignException.InvalidInput> {
            runBlocking { add.activateTyped("GJ0WH-MSTQA-KSCC7-47GD2", "https://mfa.example.com") }
        }
    }
    val all: List<Pair<CountersignException, NextStep>> = listOf(
        CountersignException.InvalidInput("bad digits", "digits") to NextStep.FIX_INPUT,
        CountersignException.Unsupported("no") to NextStep.DISMISS,
        CountersignException.NotFound("gone") to NextStep.DISMISS,
        CountersignException.VaultLocked("locked") to NextStep.UNLOCK,
        CountersignException.KeyStoreLocked("locked") to NextStep.UNLOCK,
        CountersignException.KeyStoreUnavailable("x") to NextStep.CONTACT_SUPPORT,
        CountersignException.StorageCorrupt("x", 3) to NextStep.CONTACT_SUPPORT,
        CountersignException.Storage("disk full") to NextStep.RETRY,
        CountersignException.Network("timeout", true) to NextStep.RETRY,
        CountersignException.Network("tls", false) to NextStep.DISMISS,
        CountersignException.ServerRejected("x", "rate_limited", true) to NextStep.RETRY,
        CountersignException.ServerRejected("x", "user_blocked", false) to NextStep.DISMISS,
        CountersignException.ChallengeClosed("x") to NextStep.DISMISS,
        CountersignException.SecurityCheckFailed("bad signature") to NextStep.DISMISS,
        CountersignException.Internal("stack detail 4711") to NextStep.CONTACT_SUPPORT,
    )
    for ((e, next) in all) {
        val u = userMessage(e)
        assertEquals(next, u.next, "${e::class.simpleName}")
        assertTrue(u.text.isNotBlank())
        assertFalse("detail=" in u.text, "raw exception text shown for ${e::class.simpleName}")
    }
    assertFalse("4711" in userMessage(CountersignException.Internal("stack detail 4711")).text)
    // uniffi's own unexpected error (e.g. a failing foreign callback without an error type).
    assertEquals(NextStep.CONTACT_SUPPORT, userMessage(org.countersign.core.InternalException("x")).next)
    assertTrue("blocked" in userMessage(CountersignException.ServerRejected("x", "user_blocked", false)).text)
}

/**
 * The sign-in screen's state machine on a real, verified challenge from the reference server
 * (called from the end-to-end check while that sign-in is pending), with the fields under test
 * set through `copy` and the model's own FixedClock for expiry. Nothing here may send an answer.
 */
fun challengeScreenStateMachine(real: PushChallenge, client: CountingClient) {
    val clock = FixedClock(1_800_000_000)
    run {
        val sent = client.answers.get()
        val challenge = real.copy(
            app = "Payroll", ip = "203.0.113.7", location = "Lyon, FR", client = "Firefox on Linux",
            time = 1_799_999_990u, expiresAt = 1_800_000_060u, numberLength = 3u, fraudReport = true,
        )
        val model = ChallengeModel(challenge, client, clock, ZoneId.of("UTC"))
        var s = model.state.value
        assertEquals("Payroll", s.context.app)
        assertEquals("203.0.113.7", s.context.ip)
        assertEquals("Lyon, FR", s.context.location)
        assertEquals("15 Jan 2027, 07:59:50", s.context.time)
        assertEquals(60, s.secondsLeft)
        assertEquals("", s.typedNumber, "the number must start empty")
        assertFalse(s.canApprove)

        model.onNumberChanged("4a2 7 9")
        assertEquals("427", model.state.value.typedNumber)
        model.onNumberChanged("42")
        assertFalse(model.requestApproval())
        assertEquals(ChallengePhase.REVIEW, model.state.value.phase)
        assertTrue(model.state.value.message!!.contains("3-digit"))

        // Verified without a pending approval request: nothing happens.
        runBlocking { model.onUserVerification(UserVerification.Verified) }
        assertEquals(ChallengePhase.REVIEW, model.state.value.phase)
        model.onNumberChanged("427")
        assertTrue(model.state.value.canApprove)
        assertTrue(model.requestApproval())
        assertEquals(ChallengePhase.VERIFYING_USER, model.state.value.phase)
        model.onNumberChanged("999") // typing is ignored while the prompt is up
        assertEquals("427", model.state.value.typedNumber)
        runBlocking { model.onUserVerification(UserVerification.Cancelled) }
        assertEquals(ChallengePhase.REVIEW, model.state.value.phase)
        assertTrue(model.requestApproval())
        runBlocking { model.onUserVerification(UserVerification.Unavailable("no screen lock")) }
        assertEquals(ChallengePhase.REVIEW, model.state.value.phase)
        assertEquals(sent, client.answers.get(), "an answer was sent without user verification")

        // Fraud needs a confirmation; cancel goes back.
        model.requestFraudReport()
        assertEquals(ChallengePhase.CONFIRM_FRAUD, model.state.value.phase)
        model.cancelFraudReport()
        assertEquals(ChallengePhase.REVIEW, model.state.value.phase)

        // Not offered: the button does nothing.
        val noFraud = ChallengeModel(challenge.copy(fraudReport = false), client, clock)
        noFraud.requestFraudReport()
        assertEquals(ChallengePhase.REVIEW, noFraud.state.value.phase)

        // privacyIDEA-style requests: the server's text, a code to show, options to pick from.
        val presence = ChallengeModel(
            challenge.copy(numberLength = null, options = listOf("Yes", "No"), message = "Log in to VPN?", displayCode = "246810"),
            client, clock,
        )
        with(presence.state.value) {
            assertEquals("Log in to VPN?", context.serverMessage)
            assertEquals("246810", context.displayCode?.reveal())
            assertFalse("246810" in toString(), "the screen state prints the display code")
            assertFalse(canApprove, "approve allowed before an option was picked")
        }
        assertFalse(presence.requestApproval())
        assertTrue(presence.state.value.message!!.contains("Pick"))
        presence.onOptionSelected("Maybe") // not offered
        assertNull(presence.state.value.selectedOption)
        presence.onOptionSelected("No")
        assertTrue(presence.state.value.canApprove)
        assertTrue(presence.requestApproval())
        runBlocking { presence.onUserVerification(UserVerification.Cancelled) }
        assertEquals(ChallengePhase.REVIEW, presence.state.value.phase)

        // No number asked: approve goes straight to verification.
        val plain = ChallengeModel(challenge.copy(numberLength = null), client, clock)
        assertTrue(plain.state.value.canApprove)
        plain.onNumberChanged("123")
        assertEquals("", plain.state.value.typedNumber)

        // Expiry while reviewing.
        clock.now.set(1_800_000_060)
        model.tick()
        s = model.state.value
        assertEquals(ChallengePhase.EXPIRED, s.phase)
        assertFalse(model.requestApproval())
        runBlocking { model.deny() }
        assertEquals(sent, client.answers.get())

        assertEquals(sent, client.answers.get(), "the state machine sent an answer")

        // An answer the core cannot send (unknown account) ends as a message, not a crash.
        clock.now.set(1_800_000_000)
        val unknown = ChallengeModel(challenge.copy(accountId = 4242), client, clock)
        runBlocking { unknown.deny() }
        assertEquals(ChallengePhase.FAILED, unknown.state.value.phase)
        assertNotNull(unknown.state.value.message)
    }
}

fun cameraFrameCopy() {
    // A 6 × 3 plane with 8-byte rows whose last row stops after its pixels (22 bytes).
    val buf = ByteBuffer.wrap(ByteArray(22) { it.toByte() })
    buf.position(0)
    val f = LumaFrame.fromPlane(buf, 6, 3, 8)
    assertEquals(22, f.luma.size)
    assertEquals(0, buf.position(), "the camera buffer's position moved")
    assertFailsWith<IllegalArgumentException> { LumaFrame.fromPlane(ByteBuffer.wrap(ByteArray(21)), 6, 3, 8) }
    assertFailsWith<IllegalArgumentException> { LumaFrame.fromPlane(ByteBuffer.wrap(ByteArray(64)), 6, 3, 5) }
}

// --- against the reference server -------------------------------------------------------------

fun numberOf(json: String) = jsonString(json, "number") ?: error("no number in $json")

suspend fun challengeFor(push: PushCoordinator, challengeId: String): PushChallenge =
    push.poll().firstOrNull { it.challengeId == challengeId } ?: error("challenge $challengeId not pending")

fun pushSignInEndToEnd(serverBinary: String) = ReferenceServer.start(serverBinary).use { server ->
    val keys = SoftwareSigningKeys()
    val key = newAesKey()
    var token = "fcm-token-1"
    AuthenticatorClient.open(newVaultPath(), GcmKeyWrapper("jvm-aes-gcm", { key }), WallClock).use { real ->
        val client = CountingClient(real)
        client.setNetworkOptions(NetworkOptions(null, true))
        client.setDeviceSigner(EcDeviceSigner(keys))
        server.post("/admin/users", """{"user":"alice"}""")
        val enrolment = server.post("/admin/enrollments", """{"user":"alice"}""")
        val enrolmentId = jsonString(enrolment, "enrollment_id")!!

        // Scan the page's QR code as a camera frame (padded rows) and as an image file.
        val svg = Regex("<svg.*?</svg>", RegexOption.DOT_MATCHES_ALL).find(server.page(jsonString(enrolment, "page_url")!!))!!.value
        val (w, h, stride) = Triple(640, 480, 704)
        val luma = svgQrToLuma(svg, w, h, stride, left = 150, top = 90, scale = 1)
        val add = AddAccountModel(client, DeviceDescription("JVM check", "android", "0.1"), { PushTarget("fcm", token) })
        val action = add.onFrame(LumaFrame.fromPlane(ByteBuffer.wrap(luma), w, h, stride))
        assertIs<ScanAction.Activate>(action, "camera frame gave $action")
        assertEquals("127.0.0.1", action.host)
        assertFalse("code=" in action.toString(), "the scan action prints its payload")
        assertNull(add.onFrame(LumaFrame.fromPlane(ByteBuffer.wrap(luma), w, h, stride)), "scanning went on after a find")
        assertIs<ScanAction.Activate>(add.onImage(lumaToPng(luma, w, h, stride)))
        assertIs<ScanAction.Explain>(add.onImage(lumaToPng(ByteArray(w * h) { 0x80.toByte() }, w, h, w)))

        // Activate: the device key is made by the (stand-in) platform signer.
        val activation = runBlocking { add.activate(action) }
        var status = ActivationStatus.waiting(activation, WallClock.nowUnixSeconds())
        assertEquals(ActivationPhase.WAITING_FOR_CONFIRMATION, status.phase)
        assertTrue(status.secondsLeft > 0)
        assertEquals("Countersign QA", status.issuer)
        assertEquals(1, keys.pairs.size, "the device key is not in the platform signer")
        assertEquals("pending", jsonString(server.get("/admin/enrollments/$enrolmentId"), "status"))

        // "Verify Now" → wake-up push → the activation challenge, approved with the number.
        val verify = server.post("/admin/enrollments/$enrolmentId/verify")
        val push = PushCoordinator(client)
        var (pushToken, data) = server.lastWakeup()
        assertEquals("fcm-token-1", pushToken)
        val notes = runBlocking { push.onMessage(data) }
        assertEquals(jsonString(verify, "challenge_id"), notes.single().challengeId)
        assertEquals("Confirm your new device", notes.single().title)
        assertFalse(numberOf(verify) in notes.toString(), "a notification carries the number")
        val confirm = ChallengeModel(runBlocking { challengeFor(push, notes.single().challengeId) }, client, WallClock)
        assertTrue(confirm.state.value.context.isActivation)
        confirm.onNumberChanged(numberOf(verify))
        assertTrue(confirm.requestApproval())
        runBlocking { confirm.onUserVerification(UserVerification.Verified) }
        assertEquals(ChallengePhase.APPROVED, confirm.state.value.phase, confirm.state.value.message)
        val activatedWindow = WallClock.nowUnixSeconds() / 30u
        status = status.confirmed()
        assertEquals(ActivationPhase.ACTIVE, status.phase)
        assertEquals("active", jsonString(server.get("/admin/enrollments/$enrolmentId"), "status"))
        assertTrue(keys.signatures.get() > 0, "the platform signer never signed")

        // Sign-in 1: context shown; cancelled verification sends nothing; then approved.
        var signin = server.post("/admin/signins", """{"user":"alice","app":"Payroll","ip":"203.0.113.7","location":"Lyon, FR"}""")
        var signinId = jsonString(signin, "signin_id")!!
        data = server.lastWakeup().second
        var note = runBlocking { push.onMessage(data) }.single()
        assertTrue("Payroll" in note.text)
        val first = runBlocking { challengeFor(push, note.challengeId) }
        challengeScreenStateMachine(first, client)
        assertEquals("pending", jsonString(server.get("/admin/signins/$signinId"), "state"))
        var model = ChallengeModel(first, client, WallClock)
        with(model.state.value.context) {
            assertEquals(listOf("Payroll", "203.0.113.7", "Lyon, FR"), listOf(app, ip, location))
            assertEquals(3, numberLength)
            assertTrue(fraudReportOffered)
        }
        assertFalse(model.requestApproval(), "approve allowed without the number")
        model.onNumberChanged(numberOf(signin))
        assertTrue(model.requestApproval())
        runBlocking { model.onUserVerification(UserVerification.Cancelled) }
        assertEquals("pending", jsonString(server.get("/admin/signins/$signinId"), "state"))
        assertTrue(model.requestApproval())
        runBlocking { model.onUserVerification(UserVerification.Verified) }
        assertEquals(ChallengePhase.APPROVED, model.state.value.phase, model.state.value.message)
        assertEquals("approved", jsonString(server.get("/admin/signins/$signinId"), "state"))

        // The same push again (a late or repeated delivery): nothing to show, nothing changes.
        assertTrue(runBlocking { client.handlePush(data) }.isEmpty(), "an answered request is shown again")
        val again = ChallengeModel(first, client, WallClock)
        runBlocking { again.deny() }
        assertTrue(again.state.value.phase == ChallengePhase.CLOSED || again.state.value.phase == ChallengePhase.FAILED, "${again.state.value.phase}")
        assertEquals("approved", jsonString(server.get("/admin/signins/$signinId"), "state"))

        // A new FCM token reaches the server; the next wake-up goes to it.
        token = "fcm-token-2"
        val report = runBlocking { push.onNewToken(PushTarget("fcm", token)) }
        assertEquals(listOf(activation.accountId), report.updated)
        assertTrue(report.failed.isEmpty(), "${report.failed}")

        // Sign-in 2: the wrong number is denied by the server.
        signin = server.post("/admin/signins", """{"user":"alice","app":"Mail","ip":"198.51.100.4","location":"Oslo, NO"}""")
        signinId = jsonString(signin, "signin_id")!!
        val wake = server.lastWakeup()
        assertEquals("fcm-token-2", wake.first)
        note = runBlocking { push.onMessage(wake.second) }.single()
        model = ChallengeModel(runBlocking { challengeFor(push, note.challengeId) }, client, WallClock)
        val wrong = ((numberOf(signin).toInt() + 1) % 1000).toString().padStart(3, '0')
        model.onNumberChanged(wrong)
        assertTrue(model.requestApproval())
        runBlocking { model.onUserVerification(UserVerification.Verified) }
        assertEquals(ChallengePhase.DENIED, model.state.value.phase)
        assertTrue(model.state.value.message!!.contains("did not match"))
        val denied = server.get("/admin/signins/$signinId")
        assertEquals("denied" to "wrong_number", jsonString(denied, "state") to jsonString(denied, "reason"))

        // Sign-in 3: Deny.
        signin = server.post("/admin/signins", """{"user":"alice","app":"VPN","ip":"192.0.2.9","location":"Paris, FR"}""")
        signinId = jsonString(signin, "signin_id")!!
        note = runBlocking { push.onMessage(server.lastWakeup().second) }.single()
        model = ChallengeModel(runBlocking { challengeFor(push, note.challengeId) }, client, WallClock)
        runBlocking { model.deny() }
        assertEquals(ChallengePhase.DENIED, model.state.value.phase)
        assertEquals("denied", jsonString(server.get("/admin/signins/$signinId"), "state"))

        // The push account's offline code, read off the list, is accepted by the server. The
        // activation confirmation used the code of its 30 s window (§5.5: each counter once), so
        // wait for the next window first.
        while (WallClock.nowUnixSeconds() / 30u <= activatedWindow) Thread.sleep(250)
        val list = AccountListModel(client, WallClock).apply { refresh() }
        val pushRow = list.state.value.rows.single { it.isPush }
        val offline = timed(pushRow).code.reveal()
        assertEquals(true, jsonBool(server.post("/admin/otp/verify", """{"user":"alice","code":"$offline"}"""), "valid"))
        assertEquals(false, jsonBool(server.post("/admin/otp/verify", """{"user":"alice","code":"$offline"}"""), "valid"))

        // Sign-in 4: Deny and report fraud, after confirming; the user is then blocked.
        signin = server.post("/admin/signins", """{"user":"alice","app":"Admin console","ip":"192.0.2.66","location":"unknown"}""")
        signinId = jsonString(signin, "signin_id")!!
        model = ChallengeModel(runBlocking { push.poll() }.single(), client, WallClock)
        model.requestFraudReport()
        assertEquals(ChallengePhase.CONFIRM_FRAUD, model.state.value.phase)
        assertEquals("pending", jsonString(server.get("/admin/signins/$signinId"), "state"))
        runBlocking { model.confirmFraudReport() }
        assertEquals(ChallengePhase.REPORTED, model.state.value.phase, model.state.value.message)
        assertEquals("fraud", jsonString(server.get("/admin/signins/$signinId"), "state"))
        assertEquals(true, jsonBool(server.get("/admin/users/alice"), "fraud_blocked"))
        // activation + approve + closed retry + wrong + deny + fraud, and the state machine's one
        // answer for an unknown account (refused by the core before any request)
        assertEquals(7, client.answers.get())
    }
}

// --- runner ----------------------------------------------------------------------------------

fun main() {
    val server = System.getProperty("countersign.server")
    val checks: List<Pair<String, () -> Unit>> = listOf(
        "code formatting and countdown" to ::codeFormattingAndCountdown,
        "list shows the core's codes and countdown" to ::listShowsTheCoresCodesAndCountdown,
        "lock settings and the locked list" to ::lockSettingsAndLockedList,
        "a failing Clock callback is a message, not a crash" to ::failingClockIsAMessage,
        "key wrapping (GcmKeyWrapper) with the vault" to ::keyWrappingWithTheVault,
        "error messages for every CountersignException variant" to ::errorMessagesForEveryVariant,
        "camera frame copy (row stride)" to ::cameraFrameCopy,
        "push sign-in end to end, with the challenge screen state machine (reference server)" to {
            require(!server.isNullOrEmpty() && File(server).canExecute()) {
                "-Dcountersign.server=<countersign-server binary> is required"
            }
            pushSignInEndToEnd(server)
        },
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
    println("android-logic: $passed passed, $failed failed")
    System.out.flush()
    kotlin.system.exitProcess(if (failed == 0) 0 else 1)
}
