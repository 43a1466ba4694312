using System.IO;
using System.Text.Json;
using System.Windows;
using System.Windows.Controls;
using System.Windows.Threading;
using Countersign.App.Logic;
using Countersign.App.Platform;
using Countersign.Core;
using Microsoft.Win32;

namespace Countersign.App;

internal sealed record LockSettings(bool LockOnLaunch = true, ulong LockAfterSeconds = 60);

public partial class MainWindow : Window
{
    private static readonly string DataDir = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "Countersign");
    private readonly SystemClock clock = new();
    private readonly AuthenticatorClient? client;
    private readonly AccountListViewModel? list;
    private readonly WnsPush wns = new();
    private readonly DispatcherTimer timer = new() { Interval = TimeSpan.FromSeconds(1) };
    private ChallengeViewModel? challenge;
    private CameraScanner? camera;
    private PushTarget pushTarget = new("none", "");
    private LockSettings settings = LoadSettings();
    private ulong? minimisedAt;

    public MainWindow()
    {
        InitializeComponent();
        Directory.CreateDirectory(DataDir);
        try
        {
            client = AuthenticatorClient.Open(Path.Combine(DataDir, "vault.db"), new DpapiKeyStore(), clock);
        }
        catch (CountersignException e)
        {
            // The vault file is kept as it is; nothing here deletes or recreates it.
            Status.Text = "Your accounts could not be opened. " + Messages.For(e).Text;
            return;
        }
        list = new AccountListViewModel(client, clock);
        Accounts.ItemsSource = list.Rows;
        if (settings.LockOnLaunch) client.Lock();
        list.Refresh();
        ShowMain();
        timer.Tick += (_, _) =>
        {
            list.Tick();
            challenge?.Tick();
        };
        timer.Start();
        StateChanged += OnStateChanged;
        wns.WakeUp += data => Dispatcher.InvokeAsync(() => OnWakeUp(data));
        _ = StartPushAsync();
    }

    private async Task StartPushAsync()
    {
        if (await wns.OpenChannelAsync() is { } uri) pushTarget = new PushTarget("wns", uri);
        await SyncPushTokenAsync();
    }

    /// <summary>Registers the WNS channel with every push account; servers that refuse "wns" get "none" (poll).</summary>
    private async Task SyncPushTokenAsync()
    {
        if (client is null || client.IsLocked()) return;
        foreach (var a in client.ListAccounts().Where(a => a.Kind != AccountKind.Oath))
        {
            try
            {
                await client.UpdatePushToken(a.Id, pushTarget);
            }
            catch (CountersignException.ServerRejected) when (pushTarget.Provider != "none")
            {
                try { await client.UpdatePushToken(a.Id, new PushTarget("none", "")); } catch (CountersignException) { }
            }
            catch (CountersignException) { }
        }
    }

    private async void OnWakeUp(Dictionary<string, string> data)
    {
        if (client is null || client.IsLocked()) return; // checked when unlocked
        try
        {
            var found = await client.HandlePush(data);
            if (found.Length > 0 && challenge is null) OpenChallenge(found[0]);
        }
        catch (CountersignException) { }
    }

    private void ShowPanel(FrameworkElement panel)
    {
        foreach (var p in new FrameworkElement[] { ListPanel, AddPanel, ChallengePanel, SettingsPanel, LockedPanel })
            p.Visibility = p == panel ? Visibility.Visible : Visibility.Collapsed;
    }

    private void ShowMain()
    {
        if (list is null) return;
        if (list.Locked) ShowPanel(LockedPanel);
        else if (challenge is not null) ShowPanel(ChallengePanel);
        else ShowPanel(ListPanel);
        Status.Text = list.Message?.Text ?? "";
    }

    private async void OnUnlock(object sender, RoutedEventArgs e)
    {
        if (client is null || list is null) return;
        if (await WindowsHello.VerifyAsync("Unlock Countersign") != Verification.Verified) return;
        try { client.Unlock(); } catch (CountersignException ex) { list.Message = Messages.For(ex); }
        list.Refresh();
        ShowMain();
        await SyncPushTokenAsync();
    }

    private void OnRowClicked(object sender, System.Windows.Input.MouseButtonEventArgs e)
    {
        if (list is null || sender is not FrameworkElement { Tag: long id }) return;
        var row = list.Rows.FirstOrDefault(r => r.Id == id);
        if (row is { CanReveal: true }) { list.RevealNextHotp(id); return; }
        if (list.Copy(id) is { } code) CopyPrivately(code);
    }

    /// <summary>Copies a code, excluded from clipboard history and cloud clipboard.</summary>
    private static void CopyPrivately(SensitiveCode code)
    {
        var data = new DataObject();
        data.SetText(code.Reveal());
        var zero = new MemoryStream(BitConverter.GetBytes(0));
        data.SetData("CanIncludeInClipboardHistory", zero);
        data.SetData("CanUploadToCloudClipboard", new MemoryStream(BitConverter.GetBytes(0)));
        data.SetData("ExcludeClipboardContentFromMonitorProcessing", new MemoryStream(BitConverter.GetBytes(0)));
        Clipboard.SetDataObject(data, false);
    }

    private void OnAdd(object sender, RoutedEventArgs e) => ShowPanel(AddPanel);
    private void OnBack(object sender, RoutedEventArgs e) { _ = StopCameraAsync(); ShowMain(); }

    private void OnSettings(object sender, RoutedEventArgs e)
    {
        LockOnLaunch.IsChecked = settings.LockOnLaunch;
        LockAfter.SelectedIndex = Array.IndexOf(new ulong[] { 0, 30, 60, 300, 900 }, settings.LockAfterSeconds);
        ShowPanel(SettingsPanel);
    }

    private void OnSettingsChanged(object sender, RoutedEventArgs e)
    {
        var after = (LockAfter.SelectedItem as ComboBoxItem)?.Content as string;
        settings = new LockSettings(LockOnLaunch.IsChecked == true, ulong.TryParse(after, out var s) ? s : 60);
        File.WriteAllText(Path.Combine(DataDir, "lock.json"), JsonSerializer.Serialize(settings));
    }

    private static LockSettings LoadSettings()
    {
        try { return JsonSerializer.Deserialize<LockSettings>(File.ReadAllText(Path.Combine(DataDir, "lock.json"))) ?? new(); }
        catch (Exception) { return new(); }
    }

    private void OnLockNow(object sender, RoutedEventArgs e) { list?.Lock(); ShowMain(); }

    private void OnStateChanged(object? sender, EventArgs e)
    {
        if (list is null) return;
        if (WindowState == WindowState.Minimized)
        {
            minimisedAt = clock.NowUnixSeconds();
            if (settings.LockAfterSeconds == 0) list.Lock();
        }
        else if (minimisedAt is { } since)
        {
            if (clock.NowUnixSeconds() - since >= settings.LockAfterSeconds) list.Lock();
            minimisedAt = null;
            ShowMain();
        }
    }

    private async void OnCheckRequests(object sender, RoutedEventArgs e)
    {
        if (client is null) return;
        try
        {
            var pending = await client.PendingChallenges();
            if (pending.Length == 0) Status.Text = "No sign-in requests.";
            else OpenChallenge(pending[0]);
        }
        catch (CountersignException ex)
        {
            Status.Text = Messages.For(ex).Text;
        }
    }

    private void OpenChallenge(PushChallenge c)
    {
        if (client is null) return;
        challenge = new ChallengeViewModel(c, client, clock);
        challenge.Tick();
        ChallengePanel.DataContext = challenge;
        NumberBox.Visibility = challenge.NumberLength is null ? Visibility.Collapsed : Visibility.Visible;
        FraudButton.Visibility = c.FraudReport ? Visibility.Visible : Visibility.Collapsed;
        ShowMain();
        Activate();
    }

    private async void OnApprove(object sender, RoutedEventArgs e)
    {
        if (challenge is null || !challenge.RequestApproval()) return;
        await challenge.OnUserVerificationAsync(await WindowsHello.VerifyAsync($"Approve the sign-in to {challenge.Challenge.App}"));
    }

    private async void OnDeny(object sender, RoutedEventArgs e)
    {
        if (challenge is not null) await challenge.DenyAsync();
    }

    private async void OnFraud(object sender, RoutedEventArgs e)
    {
        if (challenge is null) return;
        challenge.RequestFraudReport();
        var answer = MessageBox.Show(this,
            "Report fraud? The sign-in is denied and your administrator is alerted.",
            "Deny and report fraud", MessageBoxButton.OKCancel, MessageBoxImage.Warning);
        if (answer == MessageBoxResult.OK) await challenge.ConfirmFraudReportAsync();
        else challenge.CancelFraudReport();
    }

    private void OnCloseChallenge(object sender, RoutedEventArgs e)
    {
        challenge = null;
        ChallengePanel.DataContext = null;
        list?.Refresh();
        ShowMain();
    }

    private async void OnScanCamera(object sender, RoutedEventArgs e)
    {
        if (client is null) return;
        await StopCameraAsync();
        camera = new CameraScanner((luma, w, h, stride) =>
        {
            ScannedPayload[] found;
            try { found = client.ScanFrame((uint)w, (uint)h, (uint)stride, luma); }
            catch (CountersignException) { return false; }
            if (found.Length == 0) return false;
            Dispatcher.InvokeAsync(() => Offer(found));
            return true;
        });
        AddStatus.Text = await camera.StartAsync() ? "Point the camera at the QR code…" : "No camera found.";
    }

    private async Task StopCameraAsync()
    {
        if (camera is not null) await camera.DisposeAsync();
        camera = null;
    }

    private void OnScanImage(object sender, RoutedEventArgs e)
    {
        if (client is null) return;
        var dialog = new OpenFileDialog { Filter = "Images|*.png;*.jpg;*.jpeg" };
        if (dialog.ShowDialog(this) != true) return;
        try { Offer(client.ScanImage(File.ReadAllBytes(dialog.FileName))); }
        catch (CountersignException ex) { AddStatus.Text = Messages.For(ex).Text; }
    }

    /// <summary>Confirms what a scan found before adding or contacting a server. Payloads are never shown.</summary>
    private async void Offer(ScannedPayload[] found)
    {
        if (client is null) return;
        var p = found.FirstOrDefault(f => f.Kind is PayloadKind.Otpauth or PayloadKind.OpenpushActivation) ?? found.FirstOrDefault();
        if (p is null) { AddStatus.Text = "No QR code found."; return; }
        try
        {
            switch (p.Kind)
            {
                case PayloadKind.Otpauth o when Confirm($"Add {o.Info.Issuer} ({o.Info.AccountName})?"):
                    client.AddAccountFromUri(p.Text);
                    break;
                case PayloadKind.OpenpushActivation a when Confirm($"Add an account at {a.Host}? Only continue if you started this on its sign-in page."):
                    ShowActivation(await client.ActivateFromPayload(p.Text, Device(), pushTarget));
                    break;
                case PayloadKind.Otpauth or PayloadKind.OpenpushActivation:
                    return;
                case PayloadKind.MicrosoftActivation:
                    AddStatus.Text = "This code only works with Microsoft Authenticator.";
                    return;
                default:
                    AddStatus.Text = "Not an authenticator code Countersign can use.";
                    return;
            }
            list?.Refresh();
            ShowMain();
        }
        catch (CountersignException ex)
        {
            AddStatus.Text = Messages.For(ex).Text;
        }
    }

    private bool Confirm(string text) => MessageBox.Show(this, text, "Countersign", MessageBoxButton.OKCancel) == MessageBoxResult.OK;

    private async void OnActivateTyped(object sender, RoutedEventArgs e)
    {
        if (client is null) return;
        try
        {
            ShowActivation(await client.ActivateWithCode(CodeBox.Text.Trim(), UrlBox.Text.Trim(), Device(), pushTarget));
            list?.Refresh();
        }
        catch (CountersignException ex)
        {
            AddStatus.Text = Messages.For(ex).Text;
        }
    }

    private void OnAddUri(object sender, RoutedEventArgs e)
    {
        if (client is null) return;
        try
        {
            client.AddAccountFromUri(UriBox.Password.Trim());
            UriBox.Clear();
            list?.Refresh();
            ShowMain();
        }
        catch (CountersignException ex)
        {
            AddStatus.Text = Messages.For(ex).Text;
        }
    }

    /// <summary>Activation status: waiting for "Verify Now" on the sign-in page until the activation request is approved.</summary>
    private void ShowActivation(Activation a)
    {
        var left = a.ConfirmBy > clock.NowUnixSeconds() ? a.ConfirmBy - clock.NowUnixSeconds() : 0;
        AddStatus.Text = $"{a.Issuer}: {a.Label} at {a.Host} is activated. On the sign-in page press Verify Now within {left / 60} min, " +
                         "then type the number it shows when the request opens here (Check requests).";
    }

    private static DeviceDescription Device() =>
        new(Environment.MachineName.Length > 64 ? Environment.MachineName[..64] : Environment.MachineName, "windows", "0.1.0");
}
