// Plain Kotlin (no android.*): compiled and tested on the JVM by android/scripts/jvm-check.sh.
package org.countersign.app.logic

/**
 * A one-time code on its way to the screen or the clipboard. `toString()` never prints it, so a
 * state object that holds one can be logged or shown in a crash report without leaking the code
 * (the generated records print every field).
 */
class SensitiveCode(private val value: String) {
    /** The code as typed into a sign-in form: no spaces. */
    fun reveal(): String = value

    /** The code grouped for reading: `123 456`, `1234 5678`, `12345 67890`; Steam codes as-is. */
    val grouped: String
        get() = groupCode(value)

    val length: Int
        get() = value.length

    override fun equals(other: Any?): Boolean = other is SensitiveCode && other.value == value

    override fun hashCode(): Int = value.hashCode()

    override fun toString(): String = "SensitiveCode(<${value.length} chars>)"
}

/**
 * Groups a code for display. Numeric codes of 6–10 digits split into two halves (the first one
 * longer for odd lengths: `1234 567`); anything else (Steam's five characters) is left alone.
 */
fun groupCode(code: String): String {
    if (code.length < 6 || !code.all { it in '0'..'9' }) return code
    val head = (code.length + 1) / 2
    return code.substring(0, head) + " " + code.substring(head)
}

/** What the countdown ring shows for a time-based code. */
data class Countdown(
    /** Whole seconds until the code changes (0 once it has expired). */
    val secondsLeft: Long,
    /** Seconds per code. */
    val period: Long,
) {
    /** Fraction of the period left, 0.0–1.0, for a progress ring. */
    val fraction: Float
        get() = if (period <= 0) 0f else (secondsLeft.toFloat() / period).coerceIn(0f, 1f)

    /** The last seconds of a code: the UI shows it in the warning colour. */
    val urgent: Boolean
        get() = secondsLeft <= URGENT_SECONDS

    companion object {
        const val URGENT_SECONDS = 5L

        /** From the code's window as the core reports it and the same clock the core used. */
        fun of(now: ULong, validUntil: ULong, period: ULong): Countdown {
            val left = if (now >= validUntil) 0L else (validUntil - now).toLong()
            return Countdown(left.coerceAtMost(period.toLong()), period.toLong())
        }
    }
}
