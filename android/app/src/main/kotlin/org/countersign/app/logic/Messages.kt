// Plain Kotlin (no android.*): compiled and tested on the JVM by android/scripts/jvm-check.sh.
package org.countersign.app.logic

import org.countersign.core.CountersignException
import org.countersign.core.InternalException

/** What the user can do about a failure; decides which button the message gets. */
enum class NextStep {
    /** Correct what was typed or scanned. */
    FIX_INPUT,

    /** Try again later (a button, never an automatic loop). */
    RETRY,

    /** Authenticate and unlock the vault. */
    UNLOCK,

    /** Nothing to do: acknowledge and move on. */
    DISMISS,

    /** Offer support / export; nothing the user does here will fix it. */
    CONTACT_SUPPORT,
}

/** A failure in words for the user, with the step the screen offers. */
data class UserMessage(val text: String, val next: NextStep)

/**
 * Maps any failure from the core (or the shell) to a user message. The core's `detail` texts are
 * free of secrets by design and are shown where they help the user fix something; server
 * diagnostics and internal details are not shown verbatim.
 */
fun userMessage(error: Throwable): UserMessage = when (error) {
    is CountersignException.InvalidInput -> UserMessage(
        error.field?.let { "${error.detail} (check the $it)" } ?: error.detail,
        NextStep.FIX_INPUT,
    )
    is CountersignException.Unsupported -> UserMessage(error.detail, NextStep.DISMISS)
    is CountersignException.NotFound -> UserMessage(
        "That item no longer exists. Refresh the list.", NextStep.DISMISS,
    )
    is CountersignException.VaultLocked -> UserMessage(
        "Countersign is locked. Unlock to see your codes.", NextStep.UNLOCK,
    )
    is CountersignException.KeyStoreLocked -> UserMessage(
        "Unlock your device (fingerprint, face or PIN) and try again.", NextStep.UNLOCK,
    )
    is CountersignException.KeyStoreUnavailable -> UserMessage(
        "The device key store cannot open your accounts. Your data is untouched; " +
            "if you changed your screen lock or restored this device, restore from a backup.",
        NextStep.CONTACT_SUPPORT,
    )
    is CountersignException.StorageCorrupt -> UserMessage(
        if (error.accountId != null) {
            "One account's stored data is damaged; the others are fine. Nothing was deleted."
        } else {
            "Stored data is damaged. Nothing was deleted; contact support before reinstalling."
        },
        NextStep.CONTACT_SUPPORT,
    )
    is CountersignException.Storage -> UserMessage(
        "Could not save (storage full or busy). Free some space and try again.", NextStep.RETRY,
    )
    is CountersignException.Network -> if (error.retryable) {
        UserMessage("No connection to the server. Check your network and try again.", NextStep.RETRY)
    } else {
        UserMessage("The server's connection could not be trusted: ${error.detail}", NextStep.DISMISS)
    }
    is CountersignException.ServerRejected -> UserMessage(
        serverRejection(error.code),
        if (error.retryable) NextStep.RETRY else NextStep.DISMISS,
    )
    is CountersignException.ChallengeClosed -> UserMessage(
        "This request was already answered or has expired.", NextStep.DISMISS,
    )
    is CountersignException.SecurityCheckFailed -> UserMessage(
        "This request failed a security check and was not answered. If you did not start a " +
            "sign-in, tell your administrator.",
        NextStep.DISMISS,
    )
    is CountersignException.WrongPassword -> UserMessage(
        if (error.missing) {
            "This file is encrypted. Enter its password."
        } else {
            "That password does not open this file. Nothing was imported."
        },
        NextStep.FIX_INPUT,
    )
    is CountersignException.Internal -> UserMessage(
        "Something went wrong inside Countersign. Please report it.", NextStep.CONTACT_SUPPORT,
    )
    is InternalException -> UserMessage(
        "Something went wrong inside Countersign. Please report it.", NextStep.CONTACT_SUPPORT,
    )
    else -> UserMessage("Something went wrong. Please try again.", NextStep.RETRY)
}

/** The server's machine-readable codes (docs/protocol.md §12) in words. */
private fun serverRejection(code: String): String = when (code) {
    "user_blocked" -> "Sign-ins for this account are blocked after a fraud report. Contact your administrator."
    "rate_limited", "unavailable" -> "The server is busy. Wait a minute and try again."
    "account_revoked", "unauthorized" -> "The server no longer recognises this account. Remove it here too."
    "account_pending" -> "This account is waiting for confirmation: press Verify Now on the sign-in page."
    "invalid_code" -> "The activation code is not valid any more. Get a new one from the sign-in page."
    "wrong_server" -> "The code belongs to a different server address. Check the URL."
    "code_used" -> "Warning: this code was already used by someone else. Tell your administrator."
    "challenge_expired" -> "This request has expired."
    else -> "The server refused the request ($code)."
}
