import Foundation
import CountersignCore

enum ChallengePhase: Equatable {
    case review, confirmFraud, verifyingUser, sending
    case approved, denied, reported, expired, closed, failed
    var isFinal: Bool { [.approved, .denied, .reported, .expired, .closed, .failed].contains(self) }
}

enum UserVerification: Equatable { case verified, cancelled, unavailable(String) }

/// The sign-in request screen. Approve is two steps: `requestApproval()` checks the typed number
/// and enters `.verifyingUser` (the view runs LocalAuthentication); only `.verified` in that phase
/// sends the approval, with the number exactly as typed.
@MainActor
final class ChallengeModel: ObservableObject, Identifiable {
    let challenge: PushChallenge
    nonisolated var id: String { challenge.challengeId }
    @Published private(set) var phase: ChallengePhase = .review
    @Published private(set) var typedNumber = ""
    @Published private(set) var secondsLeft: UInt64 = 0
    @Published private(set) var message: String?

    private let client: AuthenticatorClientProtocol
    private let clock: CountersignCore.Clock

    init(challenge: PushChallenge, client: AuthenticatorClientProtocol, clock: CountersignCore.Clock) {
        self.challenge = challenge
        self.client = client
        self.clock = clock
        tick()
    }

    var isActivation: Bool { challenge.kind == .activation }
    var numberLength: Int? { challenge.numberLength.map(Int.init) }
    var canApprove: Bool { phase == .review && (numberLength == nil || typedNumber.count == numberLength) }
    var time: String {
        DateFormatter.localizedString(from: Date(timeIntervalSince1970: TimeInterval(challenge.time)),
                                      dateStyle: .medium, timeStyle: .medium)
    }

    func numberChanged(_ text: String) {
        guard phase == .review else { return }
        typedNumber = String(text.filter { $0.isASCII && $0.isNumber }.prefix(numberLength ?? 0))
        message = nil
    }

    func tick() {
        let now = clock.nowUnixSeconds()
        secondsLeft = now >= challenge.expiresAt ? 0 : challenge.expiresAt - now
        if secondsLeft == 0, [.review, .confirmFraud, .verifyingUser].contains(phase) {
            phase = .expired
            message = "This request expired. Sign in again if it was you."
        }
    }

    /// True when the view must now ask for Face ID / Touch ID / passcode.
    func requestApproval() -> Bool {
        tick()
        guard phase == .review else { return false }
        if let n = numberLength, typedNumber.count != n {
            message = "Type the \(n)-digit number shown on the sign-in page."
            return false
        }
        phase = .verifyingUser
        message = nil
        return true
    }

    func userVerification(_ result: UserVerification) async {
        guard phase == .verifyingUser else { return }
        switch result {
        case .verified:
            phase = .sending
            await send(.approve(number: numberLength == nil ? nil : typedNumber, option: nil))
        case .cancelled:
            phase = .review
            message = "Approving needs Face ID, Touch ID or your passcode."
        case let .unavailable(reason):
            phase = .review
            message = "Approving needs a passcode on this device: \(reason)"
        }
    }

    func deny() async {
        guard phase == .review else { return }
        phase = .sending
        await send(.deny)
    }

    func requestFraudReport() { if phase == .review && challenge.fraudReport { phase = .confirmFraud } }
    func cancelFraudReport() { if phase == .confirmFraud { phase = .review } }

    func confirmFraudReport() async {
        guard phase == .confirmFraud else { return }
        phase = .sending
        await send(.reportFraud)
    }

    private func send(_ decision: Decision) async {
        do {
            switch try await client.answerChallenge(accountId: challenge.accountId, challengeId: challenge.challengeId, decision: decision) {
            case .approved:
                phase = .approved
                message = isActivation ? "This device is now active." : "Approved. Return to \(challenge.app)."
            case let .denied(reason):
                phase = .denied
                message = reason == "wrong_number"
                    ? "The number did not match, so the sign-in was denied. Sign in again if it was you."
                    : "Denied."
            case .fraud:
                phase = .reported
                message = "Denied and reported. Your administrator has been told; change your password."
            default:
                // An outcome added to the core after this shell was written: the answer went through.
                phase = .closed
                message = "Your answer was recorded."
            }
        } catch CountersignError.ChallengeClosed {
            phase = .closed
            message = userMessage(CountersignError.ChallengeClosed(detail: "")).text
        } catch {
            let m = userMessage(error)
            phase = m.next == .retry ? .review : .failed
            message = m.text
        }
    }
}

/// A camera frame's Y plane, `(height − 1) × bytesPerRow + width` bytes, as `scanFrame` takes it.
struct LumaFrame {
    let width: UInt32, height: UInt32, rowStride: UInt32
    let luma: Data

    init?(base: UnsafeRawPointer, width: Int, height: Int, bytesPerRow: Int) {
        guard width > 0, height > 0, bytesPerRow >= width else { return nil }
        self.width = UInt32(width)
        self.height = UInt32(height)
        self.rowStride = UInt32(bytesPerRow)
        self.luma = Data(bytes: base, count: (height - 1) * bytesPerRow + width)
    }
}

/// What a scan offers; `description` never prints the payload (it may hold a secret).
enum ScanAction: CustomStringConvertible {
    case addAccount(AccountInfo, uri: String)
    case activate(host: String, payload: String)
    case explain(String)

    var description: String {
        switch self {
        case let .addAccount(info, _): return "addAccount(\(info.otpType))"
        case let .activate(host, _): return "activate(\(host))"
        case let .explain(text): return "explain(\(text))"
        }
    }

    static func choose(_ payloads: [ScannedPayload]) -> ScanAction? {
        let actions = payloads.map { p -> ScanAction in
            switch p.kind {
            case let .otpauth(info): return .addAccount(info, uri: p.text)
            case let .openpushActivation(host): return .activate(host: host, payload: p.text)
            case let .googleMigration(accounts, _, _):
                return .explain("This is a Google Authenticator export (\(accounts) accounts). Import is not available yet.")
            case .privacyideaPush: return .explain("Adding privacyIDEA push tokens is not in this version of the app yet.")
            case .microsoftActivation: return .explain("This code only works with Microsoft Authenticator.")
            case let .unknown(reason, _): return .explain("Not an authenticator code: \(reason)")
            }
        }
        return actions.first { if case .explain = $0 { return false } else { return true } } ?? actions.first
    }
}
