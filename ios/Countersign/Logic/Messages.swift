import Foundation
import CountersignCore

enum NextStep { case fixInput, retry, unlock, dismiss, contactSupport }

struct UserMessage: Equatable, Identifiable {
    let text: String
    let next: NextStep
    var id: String { text }
}

/// Every `CountersignError` in words for the user. The core's `detail` is free of secrets; it is
/// shown where it helps fix input, never for internal or server diagnostics.
func userMessage(_ error: Error) -> UserMessage {
    guard let e = error as? CountersignError else {
        return UserMessage(text: "Something went wrong. Please try again.", next: .retry)
    }
    switch e {
    case let .InvalidInput(detail, field):
        return UserMessage(text: field.map { "\(detail) (check the \($0))" } ?? detail, next: .fixInput)
    case let .Unsupported(detail):
        return UserMessage(text: detail, next: .dismiss)
    case .NotFound:
        return UserMessage(text: "That item no longer exists. Refresh the list.", next: .dismiss)
    case .VaultLocked:
        return UserMessage(text: "Countersign is locked. Unlock to see your codes.", next: .unlock)
    case .KeyStoreLocked:
        return UserMessage(text: "Unlock your iPhone and try again.", next: .unlock)
    case .KeyStoreUnavailable:
        return UserMessage(text: "The Keychain cannot open your accounts. Your data is untouched; if you restored this device, restore from a backup.", next: .contactSupport)
    case let .StorageCorrupt(_, accountId):
        return UserMessage(text: accountId != nil
            ? "One account's stored data is damaged; the others are fine. Nothing was deleted."
            : "Stored data is damaged. Nothing was deleted; contact support before reinstalling.", next: .contactSupport)
    case .Storage:
        return UserMessage(text: "Could not save (storage full or busy). Free some space and try again.", next: .retry)
    case let .Network(_, retryable):
        return retryable
            ? UserMessage(text: "No connection to the server. Check your network and try again.", next: .retry)
            : UserMessage(text: "The server's connection could not be trusted.", next: .dismiss)
    case let .ServerRejected(_, code, retryable):
        let text: String
        switch code {
        case "user_blocked": text = "Sign-ins for this account are blocked after a fraud report. Contact your administrator."
        case "rate_limited", "unavailable": text = "The server is busy. Wait a minute and try again."
        case "account_revoked", "unauthorized": text = "The server no longer recognises this account. Remove it here too."
        case "invalid_code": text = "The activation code is not valid any more. Get a new one from the sign-in page."
        default: text = "The server refused the request (\(code))."
        }
        return UserMessage(text: text, next: retryable ? .retry : .dismiss)
    case .ChallengeClosed:
        return UserMessage(text: "This request was already answered or has expired.", next: .dismiss)
    case .SecurityCheckFailed:
        return UserMessage(text: "This request failed a security check and was not answered. If you did not start a sign-in, tell your administrator.", next: .dismiss)
    case let .WrongPassword(_, missing):
        return UserMessage(text: missing
            ? "This file is encrypted. Enter its password."
            : "That password does not open this file. Nothing was imported.", next: .fixInput)
    case .Internal:
        return UserMessage(text: "Something went wrong inside Countersign. Please report it.", next: .contactSupport)
    }
}
