// Test support for the JVM check of the Android shell's logic (android/scripts/jvm-check.sh):
// Kotlin implementations of the core's foreign traits, and the reference openpush/1 server
// (tests/server) run as a real process on loopback.
package org.countersign.app.logic

import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.PrivateKey
import java.security.PublicKey
import java.security.spec.ECGenParameterSpec
import java.time.Duration
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.countersign.core.Clock

/** A settable clock (offline tests). */
class FixedClock(start: Long) : Clock {
    val now = AtomicLong(start)
    override fun nowUnixSeconds(): ULong = now.get().toULong()
}

/** The system clock (tests against the server, whose requests carry real timestamps). */
object WallClock : Clock {
    override fun nowUnixSeconds(): ULong = (System.currentTimeMillis() / 1000).toULong()
}

fun newAesKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

/** Software P-256 keys standing in for Android Keystore keys. */
class SoftwareSigningKeys : SigningKeys {
    val pairs = ConcurrentHashMap<String, KeyPair>()
    val signatures = AtomicLong()

    override fun create(alias: String): PublicKey {
        val pair = KeyPairGenerator.getInstance("EC").apply {
            initialize(ECGenParameterSpec("secp256r1"))
        }.generateKeyPair()
        pairs[alias] = pair
        return pair.public
    }

    override fun privateKey(alias: String): PrivateKey? {
        signatures.incrementAndGet()
        return pairs[alias]?.private
    }

    override fun delete(alias: String) {
        pairs.remove(alias)
    }
}

val scratch: File = Files.createTempDirectory("countersign-android-logic").toFile()
private var vaults = 0
fun newVaultPath(): String = File(scratch, "vault-${++vaults}.db").path

// --- the reference server ------------------------------------------------------------------

/** Minimal JSON reading for the admin API's flat answers (strings and integers). */
fun jsonString(json: String, key: String): String? =
    Regex("\"" + Regex.escape(key) + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").find(json)?.groupValues?.get(1)

fun jsonLong(json: String, key: String): Long? =
    Regex("\"" + Regex.escape(key) + "\"\\s*:\\s*(-?\\d+)").find(json)?.groupValues?.get(1)?.toLong()

fun jsonBool(json: String, key: String): Boolean? =
    Regex("\"" + Regex.escape(key) + "\"\\s*:\\s*(true|false)").find(json)?.groupValues?.get(1)?.toBoolean()

/** countersign-server on 127.0.0.1 (plain HTTP, loopback only), with its QA admin API. */
class ReferenceServer private constructor(
    private val process: Process,
    val baseUrl: String,
    private val adminToken: String,
) : AutoCloseable {
    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()

    companion object {
        fun start(binary: String): ReferenceServer {
            val data = File(scratch, "server-${System.nanoTime()}").apply { mkdirs() }
            val process = ProcessBuilder(
                binary, "--listen", "127.0.0.1:0", "--data", data.path, "--plain-http-loopback",
                "--issuer", "Countersign QA",
            ).redirectError(File(data, "stderr.log")).start()
            // Also on a timeout or an exit in the middle of a check: no server left behind.
            Runtime.getRuntime().addShutdownHook(Thread { process.destroyForcibly() })
            val line = BufferedReader(InputStreamReader(process.inputStream)).readLine()
                ?: error("the server exited before it was ready; see ${data.path}/stderr.log")
            val base = jsonString(line, "base_url") ?: error("no base_url in $line")
            val token = File(jsonString(line, "admin_token_file")!!).readText().trim()
            return ReferenceServer(process, base, token)
        }
    }

    fun get(path: String): String = send(HttpRequest.newBuilder(URI(baseUrl + path)).GET(), path)

    fun post(path: String, body: String = "{}"): String = send(
        HttpRequest.newBuilder(URI(baseUrl + path)).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)),
        path,
    )

    /** The enrolment page (no admin token: it is a capability URL). */
    fun page(url: String): String =
        http.send(HttpRequest.newBuilder(URI(url)).GET().build(), HttpResponse.BodyHandlers.ofString()).body()

    private fun send(b: HttpRequest.Builder, path: String): String {
        val r = http.send(
            b.header("Authorization", "Bearer $adminToken").timeout(Duration.ofSeconds(20)).build(),
            HttpResponse.BodyHandlers.ofString(),
        )
        check(r.statusCode() in 200..299) { "$path answered ${r.statusCode()}: ${r.body()}" }
        return r.body()
    }

    /** The newest wake-up the server queued: its token and FCM-style data map. */
    fun lastWakeup(): Pair<String, Map<String, String>> {
        val body = get("/admin/outbox")
        val items = Regex("\\{[^{}]*\"data\"\\s*:\\s*\\{([^{}]*)\\}[^{}]*\\}").findAll(body).toList()
        check(items.isNotEmpty()) { "no wake-up in the outbox" }
        val item = items.last()
        val data = Regex("\"([a-z_]+)\"\\s*:\\s*\"([^\"]*)\"").findAll(item.groupValues[1])
            .associate { it.groupValues[1] to it.groupValues[2] }
        return (jsonString(item.value, "token") ?: "") to data
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}

// --- QR pictures -----------------------------------------------------------------------------

/**
 * Rasterises the QR code of the enrolment page (an SVG of `M x y h w v h …` squares, as the
 * server draws it) into 8-bit luma, scaled by [scale], at ([left], [top]) of a [width] × [height]
 * grey frame whose rows are [rowStride] bytes; the last row stops after its last pixel, as camera
 * buffers do.
 */
fun svgQrToLuma(svg: String, width: Int, height: Int, rowStride: Int, left: Int, top: Int, scale: Int): ByteArray {
    val luma = ByteArray((height - 1) * rowStride + width) { 0xC8.toByte() } // light grey paper
    val size = Regex("viewBox=\"0 0 (\\d+) (\\d+)\"").find(svg)!!.groupValues[1].toInt()
    // White quiet zone + background, then the dark squares.
    for (y in 0 until size * scale) for (x in 0 until size * scale) {
        luma[(top + y) * rowStride + left + x] = 0xF0.toByte()
    }
    for (m in Regex("M(\\d+) (\\d+)h(\\d+)v(\\d+)").findAll(svg)) {
        val (x0, y0, w, h) = m.destructured
        for (y in y0.toInt() * scale until (y0.toInt() + h.toInt()) * scale)
            for (x in x0.toInt() * scale until (x0.toInt() + w.toInt()) * scale)
                luma[(top + y) * rowStride + left + x] = 0x18
    }
    return luma
}

fun lumaToPng(luma: ByteArray, width: Int, height: Int, rowStride: Int): ByteArray {
    val img = java.awt.image.BufferedImage(width, height, java.awt.image.BufferedImage.TYPE_BYTE_GRAY)
    for (y in 0 until height) for (x in 0 until width) {
        val v = luma[y * rowStride + x].toInt() and 0xff
        img.raster.setSample(x, y, 0, v)
    }
    val out = java.io.ByteArrayOutputStream()
    javax.imageio.ImageIO.write(img, "png", out)
    return out.toByteArray()
}
