import AVFoundation
import PhotosUI
import SwiftUI
import CountersignCore

struct RootView: View {
    @ObservedObject var model: AppModel

    var body: some View {
        if let failure = model.openFailure {
            VStack(spacing: 12) {
                Text("Your accounts could not be opened").font(.title2)
                Text(failure.text)
            }.padding()
        } else if let list = model.list {
            Main(model: model, list: list)
        }
    }
}

private struct Main: View {
    @ObservedObject var model: AppModel
    @ObservedObject var list: AccountListModel
    @State private var adding = false
    @State private var settings = false

    var body: some View {
        NavigationStack {
            if list.locked {
                VStack(spacing: 16) {
                    Text("Countersign is locked").font(.title2)
                    Button("Unlock") { Task { await model.unlock() } }.buttonStyle(.borderedProminent)
                }
            } else {
                List(list.rows) { row in
                    AccountRowView(row: row) {
                        if let code = list.copy(row.id) { copyToPasteboard(code) }
                    } reveal: {
                        list.revealNextHotp(row.id)
                    }
                }
                .navigationTitle("Countersign")
                .toolbar {
                    ToolbarItem(placement: .primaryAction) { Button("Add") { adding = true } }
                    ToolbarItem(placement: .secondaryAction) { Button("Settings") { settings = true } }
                    ToolbarItem(placement: .secondaryAction) { Button("Check requests") { Task { await model.checkRequests(open: nil) } } }
                }
                .refreshable { await model.checkRequests(open: nil) }
            }
        }
        .sheet(isPresented: $adding) { AddAccountView(model: model) }
        .sheet(isPresented: $settings) { SettingsView(model: model) }
        .fullScreenCover(item: $model.challenge) { ChallengeView(model: model, challenge: $0) }
        .sheet(item: Binding(get: { model.activation.map(ActivationItem.init) }, set: { if $0 == nil { model.activation = nil } })) { item in
            ActivationStatusView(activation: item.activation, confirmed: model.activationConfirmed, clock: model.clock)
        }
        .alert(item: $model.message) { m in Alert(title: Text(m.text)) }
    }
}

private struct ActivationItem: Identifiable {
    let activation: Activation
    var id: Int64 { activation.accountId }
}

private struct AccountRowView: View {
    let row: AccountRow
    let copy: () -> Void
    let reveal: () -> Void

    var body: some View {
        HStack {
            VStack(alignment: .leading) {
                Text(row.title).font(.headline)
                if let s = row.subtitle { Text(s).font(.caption).foregroundStyle(.secondary) }
                switch row.display {
                case let .timed(code, countdown):
                    Text(code.grouped).font(.system(.title, design: .monospaced))
                        .foregroundStyle(countdown.urgent ? Color.red : Color.accentColor)
                case let .counter(_, revealed):
                    if let r = revealed { Text(r.grouped).font(.system(.title, design: .monospaced)) }
                    else { Button("Show code", action: reveal).buttonStyle(.bordered) }
                case .pushOnly: Text("Sign-in requests only").font(.caption)
                case .unreadable: Text("Stored data damaged").foregroundStyle(.red)
                case .locked: Text("Locked")
                }
            }
            Spacer()
            if case let .timed(_, countdown) = row.display {
                ZStack {
                    Circle().trim(from: 0, to: countdown.fraction).stroke(lineWidth: 3).rotationEffect(.degrees(-90))
                    Text("\(countdown.secondsLeft)").font(.caption2)
                }.frame(width: 32, height: 32)
            }
        }
        .contentShape(Rectangle())
        .onTapGesture(perform: copy)
    }
}

struct AddAccountView: View {
    @ObservedObject var model: AppModel
    @Environment(\.dismiss) private var dismiss
    @State private var offer: ScanAction?
    @State private var photo: PhotosPickerItem?
    @State private var code = ""
    @State private var url = ""
    @State private var camera: QrCamera?

    var body: some View {
        NavigationStack {
            Form {
                Section("Scan the QR code") {
                    if let camera { CameraPreview(session: camera.session).frame(height: 260) }
                    PhotosPicker("Scan from an image", selection: $photo, matching: .images)
                }
                Section("Enter code and URL manually") {
                    TextField("Activation code", text: $code).textInputAutocapitalization(.characters).autocorrectionDisabled()
                    TextField("URL", text: $url).keyboardType(.URL).textInputAutocapitalization(.never).autocorrectionDisabled()
                    Button("Activate") { Task { await model.activateTyped(code: code, url: url); dismiss() } }
                }
            }
            .navigationTitle("Add account")
            .toolbar { Button("Close") { dismiss() } }
        }
        .onAppear {
            guard let client = model.client else { return }
            AVCaptureDevice.requestAccess(for: .video) { granted in
                guard granted else { return }
                Task { @MainActor in
                    let c = QrCamera(client: client) { offer = $0 }
                    camera = c
                    c.start()
                }
            }
        }
        .onDisappear { camera?.stop() }
        .onChange(of: photo) { item in
            Task {
                if let data = try? await item?.loadTransferable(type: Data.self) { offer = model.scanImage(data) }
            }
        }
        .confirmationDialog(offerTitle, isPresented: Binding(get: { offer != nil }, set: { if !$0 { offer = nil; camera?.resume() } }),
                            titleVisibility: .visible) {
            if let o = offer, !isExplain(o) {
                Button(isActivate(o) ? "Continue" : "Add") { Task { await model.add(o); offer = nil; dismiss() } }
            }
            Button("Cancel", role: .cancel) { offer = nil; camera?.resume() }
        }
    }

    private var offerTitle: String {
        switch offer {
        case let .addAccount(info, _)?: return "Add \([info.issuer, info.accountName].compactMap { $0 }.joined(separator: " — "))?"
        case let .activate(host, _)?: return "Add an account at \(host)? Only continue if you started this on its sign-in page."
        case let .explain(text)?: return text
        case nil: return ""
        }
    }

    private func isExplain(_ a: ScanAction) -> Bool { if case .explain = a { return true } else { return false } }
    private func isActivate(_ a: ScanAction) -> Bool { if case .activate = a { return true } else { return false } }
}

private struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession
    final class PreviewView: UIView {
        override class var layerClass: AnyClass { AVCaptureVideoPreviewLayer.self }
    }
    func makeUIView(context: Context) -> PreviewView {
        let v = PreviewView()
        (v.layer as? AVCaptureVideoPreviewLayer)?.session = session
        (v.layer as? AVCaptureVideoPreviewLayer)?.videoGravity = .resizeAspectFill
        return v
    }
    func updateUIView(_ uiView: PreviewView, context: Context) {}
}

struct ActivationStatusView: View {
    let activation: Activation
    let confirmed: Bool
    let clock: SystemClock

    var body: some View {
        TimelineView(.periodic(from: .now, by: 1)) { _ in
            let now = clock.nowUnixSeconds()
            VStack(alignment: .leading, spacing: 12) {
                Text(activation.issuer).font(.title2)
                Text("\(activation.label) at \(activation.host)")
                if confirmed {
                    Text("Active: sign-in requests will come to this iPhone.")
                } else if now >= activation.confirmBy {
                    Text("The confirmation time ran out. Start again from the sign-in page.")
                } else {
                    Text("Activated. On the sign-in page, press Verify Now, then type the number it shows here.")
                    Text("Confirm within \((activation.confirmBy - now) / 60) min \((activation.confirmBy - now) % 60) s.")
                }
            }.padding()
        }
    }
}

/// The sign-in request: context, number typed by the user, Approve (after LocalAuthentication),
/// Deny, Deny and report fraud (after a confirmation).
struct ChallengeView: View {
    @ObservedObject var model: AppModel
    @ObservedObject var challenge: ChallengeModel

    var body: some View {
        let c = challenge.challenge
        VStack(alignment: .leading, spacing: 12) {
            Text(challenge.isActivation ? "Confirm adding this device" : "Are you trying to sign in?").font(.title2)
            Text(c.app).font(.title)
            Text("From \(c.location ?? "unknown location") (\(c.ip ?? "unknown"))")
            if let client = c.client { Text(client) }
            Text(challenge.time)
            if !challenge.phase.isFinal { Text("\(challenge.secondsLeft) s left").font(.caption) }
            if let m = challenge.message { Text(m).foregroundStyle(challenge.phase.isFinal ? Color.primary : Color.red) }
            if challenge.phase.isFinal {
                Button("Close") { model.closeChallenge() }.buttonStyle(.borderedProminent)
            } else {
                if let n = challenge.numberLength {
                    TextField("Number shown on the sign-in page (\(n) digits)",
                              text: Binding(get: { challenge.typedNumber }, set: { challenge.numberChanged($0) }))
                        .keyboardType(.numberPad).textFieldStyle(.roundedBorder)
                }
                Button("Approve") { Task { await model.approve() } }
                    .buttonStyle(.borderedProminent).disabled(!challenge.canApprove)
                Button("Deny") { Task { await challenge.deny() } }.disabled(challenge.phase != .review)
                if c.fraudReport {
                    Button("Deny and report fraud", role: .destructive) { challenge.requestFraudReport() }
                        .disabled(challenge.phase != .review)
                }
            }
            Spacer()
        }
        .padding()
        .confirmationDialog("Report fraud? The sign-in is denied and your administrator is alerted.",
                            isPresented: Binding(get: { challenge.phase == .confirmFraud }, set: { if !$0 { challenge.cancelFraudReport() } }),
                            titleVisibility: .visible) {
            Button("Deny and report", role: .destructive) { Task { await challenge.confirmFraudReport() } }
            Button("Cancel", role: .cancel) { challenge.cancelFraudReport() }
        }
    }
}


struct SettingsView: View {
    @ObservedObject var model: AppModel
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        NavigationStack {
            Form {
                Toggle("Ask for Face ID or passcode when opening", isOn: $model.settings.lockOnLaunch)
                Picker("Lock after leaving the app", selection: $model.settings.lockAfterSeconds) {
                    ForEach(LockSettings.choices, id: \.self) { s in
                        Text(s == 0 ? "Immediately" : s < 60 ? "\(s) seconds" : "\(s / 60) minutes").tag(s)
                    }
                }
                Text("Approving a sign-in always asks for Face ID, Touch ID or your passcode.").font(.footnote)
                Button("Lock now") { model.list?.lock(); dismiss() }
            }
            .navigationTitle("Settings")
            .toolbar { Button("Done") { dismiss() } }
        }
    }
}
