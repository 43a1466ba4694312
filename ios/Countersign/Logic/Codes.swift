// Plain Swift over the generated CountersignCore API (no UIKit/SwiftUI): list, countdown, copy.
import Foundation
import CountersignCore

/// A one-time code; its description never prints the code.
struct SensitiveCode: Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    fileprivate let value: String
    init(_ value: String) { self.value = value }

    /// As typed into a sign-in form.
    func reveal() -> String { value }

    /// `123 456`, `1234 5678`; Steam codes unchanged.
    var grouped: String { groupCode(value) }

    var description: String { "SensitiveCode(<\(value.count) chars>)" }
    var debugDescription: String { description }
}

func groupCode(_ code: String) -> String {
    guard code.count >= 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else { return code }
    let head = (code.count + 1) / 2
    return String(code.prefix(head)) + " " + String(code.dropFirst(head))
}

struct Countdown: Equatable {
    let secondsLeft: UInt64
    let period: UInt64
    var fraction: Double { period == 0 ? 0 : min(1, Double(secondsLeft) / Double(period)) }
    var urgent: Bool { secondsLeft <= 5 }

    static func of(now: UInt64, validUntil: UInt64, period: UInt64) -> Countdown {
        Countdown(secondsLeft: min(now >= validUntil ? 0 : validUntil - now, period), period: period)
    }
}

enum CodeDisplay: Equatable {
    case timed(SensitiveCode, Countdown)
    case counter(next: UInt64, revealed: SensitiveCode?)
    case pushOnly
    case unreadable
    case locked
}

struct AccountRow: Identifiable, Equatable {
    let id: Int64
    let title: String
    let subtitle: String?
    let isPush: Bool
    let display: CodeDisplay
}

/// The account list. The same `Clock` drives the core's codes and the countdowns.
@MainActor
final class AccountListModel: ObservableObject {
    @Published private(set) var rows: [AccountRow] = []
    @Published private(set) var locked = false
    @Published var message: UserMessage?

    private let client: AuthenticatorClientProtocol
    private let clock: CountersignCore.Clock
    private var codes: [AccountCode] = []
    private var revealed: [Int64: SensitiveCode] = [:]
    private var refreshAt = UInt64.max

    init(client: AuthenticatorClientProtocol, clock: CountersignCore.Clock) {
        self.client = client
        self.clock = clock
    }

    func refresh() {
        do {
            codes = try client.codes()
            refreshAt = codes.compactMap { c -> UInt64? in
                if case let .timed(_, _, code) = c.state { return code.validUntil }
                return nil
            }.min() ?? .max
            locked = false
            rows = makeRows(now: clock.nowUnixSeconds())
        } catch CountersignError.VaultLocked {
            showLocked()
        } catch {
            message = userMessage(error)
        }
    }

    /// Once a second while visible; asks the core only when a shown code expired.
    func tick() {
        guard !locked else { return }
        let now = clock.nowUnixSeconds()
        if now >= refreshAt { refresh() } else { rows = makeRows(now: now) }
    }

    /// The code for the clipboard (the caller marks it local-only and expiring).
    func copy(_ id: Int64) -> SensitiveCode? {
        guard let row = rows.first(where: { $0.id == id }) else { return nil }
        let code: SensitiveCode?
        switch row.display {
        case let .timed(c, countdown): code = countdown.secondsLeft > 0 ? c : nil
        case let .counter(_, r): code = r
        default: code = nil
        }
        if code != nil { try? client.markUsed(id: id) }
        return code
    }

    func revealNextHotp(_ id: Int64) {
        do {
            revealed[id] = SensitiveCode(try client.nextHotp(id: id).code)
            refresh()
        } catch {
            message = userMessage(error)
        }
    }

    func lock() {
        client.lock()
        showLocked()
    }

    private func showLocked() {
        codes = []
        revealed = [:]
        refreshAt = .max
        locked = true
        rows = ((try? client.listAccounts()) ?? []).map { row($0, .locked) }
    }

    private func makeRows(now: UInt64) -> [AccountRow] {
        codes.map { c in
            let display: CodeDisplay
            switch c.state {
            case let .timed(_, period, code):
                display = .timed(SensitiveCode(code.code), .of(now: now, validUntil: code.validUntil, period: period))
            case let .counterBased(counter): display = .counter(next: counter, revealed: revealed[c.account.id])
            case .noCode: display = .pushOnly
            case .unreadable: display = .unreadable
            }
            return row(c.account, display)
        }
    }

    private func row(_ a: AccountEntry, _ d: CodeDisplay) -> AccountRow {
        let issuer = a.issuer.flatMap { $0.isEmpty ? nil : $0 }
        return AccountRow(id: a.id, title: issuer ?? a.name, subtitle: issuer == nil ? nil : a.name,
                          isPush: a.kind != .oath, display: d)
    }
}
