import AVFoundation
import LocalAuthentication
import UIKit
import UniformTypeIdentifiers
import CountersignCore

final class SystemClock: CountersignCore.Clock, @unchecked Sendable {
    func nowUnixSeconds() -> UInt64 { UInt64(Date().timeIntervalSince1970) }
}

/// LocalAuthentication before every approval and to unlock: Face ID / Touch ID, or the passcode.
func verifyUser(reason: String) async -> UserVerification {
    let context = LAContext()
    var error: NSError?
    guard context.canEvaluatePolicy(.deviceOwnerAuthentication, error: &error) else {
        return .unavailable(error?.localizedDescription ?? "no passcode is set")
    }
    do {
        return try await context.evaluatePolicy(.deviceOwnerAuthentication, localizedReason: reason) ? .verified : .cancelled
    } catch let e as LAError where [.userCancel, .appCancel, .systemCancel].contains(e.code) {
        return .cancelled
    } catch {
        return .unavailable(error.localizedDescription)
    }
}

/// Copies a code for at most 60 s, this device only (not Universal Clipboard).
func copyToPasteboard(_ code: SensitiveCode) {
    UIPasteboard.general.setItems(
        [[UTType.plainText.identifier: code.reveal()]],
        options: [.localOnly: true, .expirationDate: Date().addingTimeInterval(60)]
    )
}

/// AVFoundation video frames in `420f` (bi-planar, full range): plane 0 is the luma, passed with
/// its bytesPerRow to `scanFrame`. Late frames are discarded; one frame is decoded at a time.
final class QrCamera: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate {
    let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "org.countersign.camera")
    private let client: AuthenticatorClientProtocol
    private let onFound: @MainActor (ScanAction) -> Void
    private var found = false

    init(client: AuthenticatorClientProtocol, onFound: @escaping @MainActor (ScanAction) -> Void) {
        self.client = client
        self.onFound = onFound
    }

    func start() {
        queue.async { [self] in
            guard session.inputs.isEmpty,
                  let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back),
                  let input = try? AVCaptureDeviceInput(device: device) else { return }
            let output = AVCaptureVideoDataOutput()
            output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_420YpCbCr8BiPlanarFullRange]
            output.alwaysDiscardsLateVideoFrames = true
            output.setSampleBufferDelegate(self, queue: queue)
            session.beginConfiguration()
            session.sessionPreset = .hd1280x720
            if session.canAddInput(input) { session.addInput(input) }
            if session.canAddOutput(output) { session.addOutput(output) }
            session.commitConfiguration()
            session.startRunning()
        }
    }

    func stop() { queue.async { [self] in session.stopRunning() } }
    func resume() { queue.async { [self] in found = false } }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard !found, let pixels = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        CVPixelBufferLockBaseAddress(pixels, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(pixels, .readOnly) }
        guard let base = CVPixelBufferGetBaseAddressOfPlane(pixels, 0),
              let frame = LumaFrame(base: base,
                                    width: CVPixelBufferGetWidthOfPlane(pixels, 0),
                                    height: CVPixelBufferGetHeightOfPlane(pixels, 0),
                                    bytesPerRow: CVPixelBufferGetBytesPerRowOfPlane(pixels, 0)),
              let payloads = try? client.scanFrame(width: frame.width, height: frame.height,
                                                   rowStride: frame.rowStride, luma: frame.luma),
              let action = ScanAction.choose(payloads) else { return }
        found = true
        Task { @MainActor in onFound(action) }
    }
}
