using System.Runtime.InteropServices.WindowsRuntime;
using System.Text.Json;
using Windows.Graphics.Imaging;
using Windows.Media.Capture;
using Windows.Media.Capture.Frames;
using Windows.Media.MediaProperties;
using Windows.Networking.PushNotifications;

namespace Countersign.App.Platform;

/// <summary>
/// Camera frames from MediaCapture (NV12): plane 0 is the luma, passed with its stride to
/// <c>ScanFrame</c>. One frame is decoded at a time; frames arriving meanwhile are dropped.
/// </summary>
internal sealed class CameraScanner : IAsyncDisposable
{
    private MediaCapture? capture;
    private MediaFrameReader? reader;
    private int busy;
    private readonly Func<byte[], int, int, int, bool> onFrame;

    /// <param name="onFrame">(luma, width, height, stride) → true to stop scanning.</param>
    public CameraScanner(Func<byte[], int, int, int, bool> onFrame) => this.onFrame = onFrame;

    public async Task<bool> StartAsync()
    {
        var groups = await MediaFrameSourceGroup.FindAllAsync();
        var group = groups.FirstOrDefault(g => g.SourceInfos.Any(s => s.SourceKind == MediaFrameSourceKind.Color));
        if (group is null) return false;
        capture = new MediaCapture();
        await capture.InitializeAsync(new MediaCaptureInitializationSettings
        {
            SourceGroup = group,
            SharingMode = MediaCaptureSharingMode.SharedReadOnly,
            StreamingCaptureMode = StreamingCaptureMode.Video,
            MemoryPreference = MediaCaptureMemoryPreference.Cpu,
        });
        var source = capture.FrameSources.Values.First(s => s.Info.SourceKind == MediaFrameSourceKind.Color);
        reader = await capture.CreateFrameReaderAsync(source, MediaEncodingSubtypes.Nv12);
        reader.AcquisitionMode = MediaFrameReaderAcquisitionMode.Realtime;
        reader.FrameArrived += OnFrameArrived;
        await reader.StartAsync();
        return true;
    }

    private void OnFrameArrived(MediaFrameReader sender, MediaFrameArrivedEventArgs args)
    {
        if (Interlocked.Exchange(ref busy, 1) == 1) return;
        try
        {
            using var frame = sender.TryAcquireLatestFrame();
            var bitmap = frame?.VideoMediaFrame?.SoftwareBitmap;
            if (bitmap is null || bitmap.BitmapPixelFormat != BitmapPixelFormat.Nv12) return;
            int width = bitmap.PixelWidth, height = bitmap.PixelHeight, stride, start;
            using (var locked = bitmap.LockBuffer(BitmapBufferAccessMode.Read))
            {
                var plane = locked.GetPlaneDescription(0);
                stride = plane.Stride;
                start = plane.StartIndex;
            }
            // NV12: the luma plane, then interleaved chroma at half height.
            var all = new byte[start + stride * height * 3 / 2];
            bitmap.CopyToBuffer(all.AsBuffer());
            var luma = all.AsSpan(start, (height - 1) * stride + width).ToArray();
            if (onFrame(luma, width, height, stride)) _ = StopAsync();
        }
        finally
        {
            Volatile.Write(ref busy, 0);
        }
    }

    public async Task StopAsync()
    {
        if (reader is not null) await reader.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        reader?.Dispose();
        capture?.Dispose();
    }
}

/// <summary>
/// WNS: a channel for this app. Wake-ups are raw notifications whose content is the push's data
/// map as JSON (<c>{"op":"1","aid":…,"cid":…}</c>), handed to <c>HandlePush</c>.
/// openpush/1 names no WNS provider yet (fcm, apns, unifiedpush, none), so the channel is offered
/// to the server as "wns" and the app falls back to "none" (poll) when the server refuses it.
/// </summary>
internal sealed class WnsPush
{
    public event Action<Dictionary<string, string>>? WakeUp;

    public async Task<string?> OpenChannelAsync()
    {
        try
        {
            // Needs package identity (MSIX); an unpackaged build gets an exception and polls.
            var channel = await PushNotificationChannelManager.CreatePushNotificationChannelForApplicationAsync();
            channel.PushNotificationReceived += (_, e) =>
            {
                if (e.NotificationType != PushNotificationType.Raw || e.RawNotification?.Content is not { } content) return;
                e.Cancel = true;
                try
                {
                    var data = JsonSerializer.Deserialize<Dictionary<string, string>>(content);
                    if (data is not null) WakeUp?.Invoke(data);
                }
                catch (JsonException)
                {
                    // Not ours: ignore (never logged: it is server-controlled input).
                }
            };
            return channel.Uri;
        }
        catch (Exception)
        {
            return null;
        }
    }
}
