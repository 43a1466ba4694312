import CryptoKit
import SwiftUI
import UIKit
import UserNotifications
import CountersignCore

@main
struct CountersignApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var delegate
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            RootView(model: AppModel.shared)
        }
        .onChange(of: scenePhase) { phase in
            switch phase {
            case .background: AppModel.shared.didEnterBackground()
            case .active: AppModel.shared.didBecomeActive()
            default: break
            }
        }
    }
}

/// APNs: the device token goes to every push account's server (`updatePushToken`); a push is a
/// wake-up with ids, handed to `handlePush`, which fetches and verifies the request itself.
final class AppDelegate: NSObject, UIApplicationDelegate, UNUserNotificationCenterDelegate {
    func application(_ application: UIApplication,
                     didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        UNUserNotificationCenter.current().delegate = self
        UNUserNotificationCenter.current().requestAuthorization(options: [.alert, .sound]) { _, _ in }
        application.registerForRemoteNotifications()
        return true
    }

    func application(_ application: UIApplication, didRegisterForRemoteNotificationsWithDeviceToken deviceToken: Data) {
        let token = deviceToken.map { String(format: "%02x", $0) }.joined()
        Task { @MainActor in await AppModel.shared.pushTokenChanged(PushTarget(provider: "apns", token: token)) }
    }

    /// Background (content-available) push: verify the request and post a local notification.
    func application(_ application: UIApplication, didReceiveRemoteNotification userInfo: [AnyHashable: Any]) async
        -> UIBackgroundFetchResult {
        var data: [String: String] = [:]
        for (k, v) in userInfo { if let k = k as? String, let v = v as? String { data[k] = v } }
        return await AppModel.shared.handlePush(data) ? .newData : .failed
    }

    /// A notification tapped: open that request.
    func userNotificationCenter(_ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse) async {
        let id = response.notification.request.identifier
        await AppModel.shared.checkRequests(open: id)
    }
}

struct LockSettings: Codable, Equatable {
    var lockOnLaunch = true
    var lockAfterSeconds: UInt64 = 60
    static let choices: [UInt64] = [0, 30, 60, 300, 900]
}

/// The app's state: the open vault (or why it did not open), list, current request, activation.
@MainActor
final class AppModel: ObservableObject {
    static let shared = AppModel()

    let clock = SystemClock()
    let client: AuthenticatorClient?
    let openFailure: UserMessage?
    let list: AccountListModel?
    @Published var challenge: ChallengeModel?
    @Published var activation: Activation?
    @Published var activationConfirmed = false
    @Published var message: UserMessage?
    @Published var settings: LockSettings {
        didSet { UserDefaults.standard.set(try? JSONEncoder().encode(settings), forKey: "lock") }
    }
    private var pushTarget = PushTarget(provider: "none", token: "")
    private var backgroundedAt: UInt64?
    private var timer: Timer?

    private init() {
        settings = (UserDefaults.standard.data(forKey: "lock").flatMap { try? JSONDecoder().decode(LockSettings.self, from: $0) }) ?? LockSettings()
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        do {
            let c = try AuthenticatorClient.open(path: dir.appendingPathComponent("vault.db").path,
                                                 keyStore: KeychainKeyStore(), clock: clock)
            if SecureEnclave.isAvailable { c.setDeviceSigner(signer: SecureEnclaveSigner()) }
            client = c
            list = AccountListModel(client: c, clock: clock)
            openFailure = nil
        } catch {
            client = nil
            list = nil
            openFailure = userMessage(error) // the vault file is kept as it is
        }
        if settings.lockOnLaunch { client?.lock() }
        list?.refresh()
        timer = Timer.scheduledTimer(withTimeInterval: 1, repeats: true) { _ in
            Task { @MainActor in
                AppModel.shared.list?.tick()
                AppModel.shared.challenge?.tick()
            }
        }
    }

    func didEnterBackground() {
        backgroundedAt = clock.nowUnixSeconds()
        if settings.lockAfterSeconds == 0 { list?.lock() }
    }

    func didBecomeActive() {
        if let since = backgroundedAt, clock.nowUnixSeconds() &- since >= settings.lockAfterSeconds { list?.lock() }
        backgroundedAt = nil
        Task { await checkRequests(open: nil) }
    }

    func unlock() async {
        guard await verifyUser(reason: "Unlock Countersign") == .verified, let client else { return }
        do { try client.unlock() } catch { message = userMessage(error) }
        list?.refresh()
    }

    func pushTokenChanged(_ target: PushTarget) async {
        pushTarget = target
        guard let client else { return }
        await withVault {
            for a in try client.listAccounts() where a.kind != .oath {
                try? await client.updatePushToken(accountId: a.id, push: target)
            }
        }
    }

    /// Returns false when the request could not be verified now; the app polls when opened.
    func handlePush(_ data: [String: String]) async -> Bool {
        guard let client else { return false }
        return await withVault {
            for c in try await client.handlePush(data: data) { postNotification(for: c) }
        }
    }

    func checkRequests(open id: String?) async {
        guard let client, !(list?.locked ?? true) else { return }
        do {
            let pending = try await client.pendingChallenges()
            if let c = pending.first(where: { $0.challengeId == id }) ?? pending.first, challenge == nil {
                challenge = ChallengeModel(challenge: c, client: client, clock: clock)
            }
        } catch {
            message = userMessage(error)
        }
    }

    func closeChallenge() {
        if let c = challenge, c.isActivation, c.phase == .approved { activationConfirmed = true }
        challenge = nil
        list?.refresh()
    }

    func approve() async {
        guard let c = challenge, c.requestApproval() else { return }
        await c.userVerification(await verifyUser(reason: "Approve the sign-in to \(c.challenge.app)"))
    }

    func add(_ action: ScanAction) async {
        guard let client else { return }
        do {
            switch action {
            case let .addAccount(_, uri): _ = try client.addAccountFromUri(uri: uri)
            case let .activate(_, payload):
                activation = try await client.activateFromPayload(payload: payload, device: device, push: pushTarget)
                activationConfirmed = false
            case let .explain(text): message = UserMessage(text: text, next: .dismiss)
            }
        } catch {
            message = userMessage(error)
        }
        list?.refresh()
    }

    func activateTyped(code: String, url: String) async {
        guard let client else { return }
        do {
            activation = try await client.activateWithCode(code: code.trimmingCharacters(in: .whitespaces),
                                                           url: url.trimmingCharacters(in: .whitespaces),
                                                           device: device, push: pushTarget)
            activationConfirmed = false
        } catch {
            message = userMessage(error)
        }
        list?.refresh()
    }

    func scanImage(_ data: Data) -> ScanAction {
        guard let client else { return .explain("Countersign is not open.") }
        do { return ScanAction.choose(try client.scanImage(image: data)) ?? .explain("No QR code found in this image.") }
        catch { return .explain(userMessage(error).text) }
    }

    private var device: DeviceDescription {
        DeviceDescription(name: String(UIDevice.current.model.prefix(64)), platform: "ios",
                          appVersion: Bundle.main.infoDictionary?["CFBundleShortVersionString"] as? String ?? "0")
    }

    /// Background work while the app lock holds the vault locked: unlock for the call, lock again.
    @discardableResult
    private func withVault(_ body: () async throws -> Void) async -> Bool {
        guard let client else { return false }
        let wasLocked = client.isLocked()
        defer { if wasLocked { client.lock() } }
        do {
            if wasLocked { try client.unlock() }
            try await body()
            return true
        } catch {
            return false
        }
    }

    private func postNotification(for c: PushChallenge) {
        let content = UNMutableNotificationContent()
        content.title = c.kind == .activation ? "Confirm your new device" : "Sign-in request"
        content.body = c.kind == .activation ? "Open Countersign to finish adding this device."
            : "Are you signing in to \(c.app)? Open Countersign to answer."
        content.interruptionLevel = .timeSensitive
        UNUserNotificationCenter.current().add(UNNotificationRequest(identifier: c.challengeId, content: content, trigger: nil))
    }
}
