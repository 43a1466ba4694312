// The shell's logic over the generated Countersign.Core API (no WPF types), mirroring
// android/app/src/main/kotlin/org/countersign/app/logic, which is the tested version.
using System.Collections.ObjectModel;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using Countersign.Core;

namespace Countersign.App.Logic;

internal abstract class Observable : INotifyPropertyChanged
{
    public event PropertyChangedEventHandler? PropertyChanged;
    protected void Set<T>(ref T field, T value, [CallerMemberName] string? name = null)
    {
        if (EqualityComparer<T>.Default.Equals(field, value)) return;
        field = value;
        Raise(name);
    }

    protected void Raise(string? name) => PropertyChanged?.Invoke(this, new PropertyChangedEventArgs(name));
}

/// <summary>A one-time code; <c>ToString()</c> never prints it.</summary>
internal sealed class SensitiveCode(string value)
{
    public string Reveal() => value;
    public string Grouped => Codes.Group(value);
    public override string ToString() => $"SensitiveCode(<{value.Length} chars>)";
}

internal static class Codes
{
    /// <summary><c>123 456</c>, <c>1234 5678</c>; Steam codes unchanged.</summary>
    public static string Group(string code)
    {
        if (code.Length < 6 || !code.All(char.IsAsciiDigit)) return code;
        var head = (code.Length + 1) / 2;
        return code[..head] + " " + code[head..];
    }
}

internal enum NextStep { FixInput, Retry, Unlock, Dismiss, ContactSupport }

internal sealed record UserMessage(string Text, NextStep Next);

internal static class Messages
{
    /// <summary>Every <c>CountersignException</c> variant in words; core details only where they help fix input.</summary>
    public static UserMessage For(Exception error) => error switch
    {
        CountersignException.InvalidInput e => new(e.field is { } f ? $"{e.detail} (check the {f})" : e.detail, NextStep.FixInput),
        CountersignException.Unsupported e => new(e.detail, NextStep.Dismiss),
        CountersignException.NotFound => new("That item no longer exists. Refresh the list.", NextStep.Dismiss),
        CountersignException.VaultLocked => new("Countersign is locked. Unlock to see your codes.", NextStep.Unlock),
        CountersignException.KeyStoreLocked => new("Sign in to Windows again and retry.", NextStep.Unlock),
        CountersignException.KeyStoreUnavailable => new("Windows cannot open your accounts for this user. Your data is untouched; restore from a backup if you reset your password or moved the file.", NextStep.ContactSupport),
        CountersignException.StorageCorrupt e => new(e.accountId is null
            ? "Stored data is damaged. Nothing was deleted; contact support."
            : "One account's stored data is damaged; the others are fine.", NextStep.ContactSupport),
        CountersignException.Storage => new("Could not save (disk full or busy). Try again.", NextStep.Retry),
        CountersignException.Network e => e.retryable
            ? new("No connection to the server. Check your network and try again.", NextStep.Retry)
            : new("The server's connection could not be trusted.", NextStep.Dismiss),
        CountersignException.ServerRejected e => new(e.code switch
        {
            "user_blocked" => "Sign-ins for this account are blocked after a fraud report. Contact your administrator.",
            "rate_limited" or "unavailable" => "The server is busy. Wait a minute and try again.",
            "account_revoked" or "unauthorized" => "The server no longer recognises this account. Remove it here too.",
            "invalid_code" => "The activation code is not valid any more. Get a new one from the sign-in page.",
            _ => $"The server refused the request ({e.code}).",
        }, e.retryable ? NextStep.Retry : NextStep.Dismiss),
        CountersignException.ChallengeClosed => new("This request was already answered or has expired.", NextStep.Dismiss),
        CountersignException.SecurityCheckFailed => new("This request failed a security check and was not answered. If you did not start a sign-in, tell your administrator.", NextStep.Dismiss),
        CountersignException.WrongPassword e => e.missing
            ? new("This file is encrypted. Enter its password.", NextStep.FixInput)
            : new("That password does not open this file. Nothing was imported.", NextStep.FixInput),
        CountersignException.Internal => new("Something went wrong inside Countersign. Please report it.", NextStep.ContactSupport),
        _ => new("Something went wrong. Please try again.", NextStep.Retry),
    };
}

internal sealed class AccountRow(long id, string title, string? subtitle, bool isPush) : Observable
{
    public long Id { get; } = id;
    public string Title { get; } = title;
    public string? Subtitle { get; } = subtitle;
    public bool IsPush { get; } = isPush;
    private string display = "";
    private ulong secondsLeft;
    private bool urgent;
    private bool canReveal;
    internal SensitiveCode? Code;
    /// <summary>What the row shows: the grouped code, or a state in words.</summary>
    public string Display { get => display; internal set => Set(ref display, value); }
    public ulong SecondsLeft { get => secondsLeft; internal set => Set(ref secondsLeft, value); }
    public bool Urgent { get => urgent; internal set => Set(ref urgent, value); }
    public bool CanReveal { get => canReveal; internal set => Set(ref canReveal, value); }
}

/// <summary>The account list: codes from the core, countdowns from the same clock.</summary>
internal sealed class AccountListViewModel(IAuthenticatorClient client, Clock clock) : Observable
{
    public ObservableCollection<AccountRow> Rows { get; } = new();
    private AccountCode[] codes = [];
    private readonly Dictionary<long, SensitiveCode> revealed = new();
    private ulong refreshAt = ulong.MaxValue;
    private bool locked;
    private UserMessage? message;
    public bool Locked { get => locked; private set => Set(ref locked, value); }
    public UserMessage? Message { get => message; set => Set(ref message, value); }

    public void Refresh()
    {
        try
        {
            codes = client.Codes();
            refreshAt = codes.Select(c => c.State is CodeState.Timed t ? t.Code.ValidUntil : ulong.MaxValue).DefaultIfEmpty(ulong.MaxValue).Min();
            Locked = false;
            Rebuild(clock.NowUnixSeconds());
        }
        catch (CountersignException.VaultLocked)
        {
            ShowLocked();
        }
        catch (Exception e)
        {
            // Including uniffi's InternalException (a bug across the FFI): a message, not a crashed timer.
            Message = Messages.For(e);
        }
    }

    /// <summary>Once a second; asks the core only when a shown code expired.</summary>
    public void Tick()
    {
        if (Locked) return;
        var now = clock.NowUnixSeconds();
        if (now >= refreshAt) Refresh(); else UpdateCountdowns(now);
    }

    public SensitiveCode? Copy(long id)
    {
        var row = Rows.FirstOrDefault(r => r.Id == id);
        if (row?.Code is null) return null;
        try { client.MarkUsed(id); } catch (CountersignException) { }
        return row.Code;
    }

    public void RevealNextHotp(long id)
    {
        try
        {
            revealed[id] = new SensitiveCode(client.NextHotp(id).Code);
            Refresh();
        }
        catch (CountersignException e)
        {
            Message = Messages.For(e);
        }
    }

    public void Lock()
    {
        client.Lock();
        ShowLocked();
    }

    private void ShowLocked()
    {
        codes = [];
        revealed.Clear();
        refreshAt = ulong.MaxValue;
        Locked = true;
        Rows.Clear();
        try
        {
            foreach (var a in client.ListAccounts()) Rows.Add(MakeRow(a, "Locked"));
        }
        catch (CountersignException) { }
    }

    private void Rebuild(ulong now)
    {
        Rows.Clear();
        foreach (var c in codes)
        {
            var row = MakeRow(c.Account, "");
            switch (c.State)
            {
                case CodeState.Timed t:
                    row.Code = new SensitiveCode(t.Code.Code);
                    row.Display = row.Code.Grouped;
                    break;
                case CodeState.CounterBased:
                    row.Code = revealed.GetValueOrDefault(c.Account.Id);
                    row.Display = row.Code?.Grouped ?? "";
                    row.CanReveal = row.Code is null;
                    break;
                case CodeState.NoCode: row.Display = "Sign-in requests only"; break;
                default: row.Display = "Stored data damaged"; break;
            }
            Rows.Add(row);
        }
        UpdateCountdowns(now);
    }

    private void UpdateCountdowns(ulong now)
    {
        for (var i = 0; i < codes.Length && i < Rows.Count; i++)
        {
            if (codes[i].State is not CodeState.Timed t) continue;
            var left = now >= t.Code.ValidUntil ? 0 : Math.Min(t.Code.ValidUntil - now, t.Period);
            Rows[i].SecondsLeft = left;
            Rows[i].Urgent = left <= 5;
        }
    }

    private static AccountRow MakeRow(AccountEntry a, string display)
    {
        var issuer = string.IsNullOrWhiteSpace(a.Issuer) ? null : a.Issuer;
        return new AccountRow(a.Id, issuer ?? a.Name, issuer is null ? null : a.Name, a.Kind != AccountKind.Oath) { Display = display };
    }
}

internal enum ChallengePhase { Review, ConfirmFraud, VerifyingUser, Sending, Approved, Denied, Reported, Expired, Closed, Failed }

/// <summary>
/// The sign-in request. Approve: <see cref="RequestApproval"/> checks the typed number and enters
/// VerifyingUser (the window runs Windows Hello); only a verified user in that phase approves,
/// with the number as typed. Deny sends at once; fraud needs a confirmation.
/// </summary>
internal sealed class ChallengeViewModel(PushChallenge challenge, IAuthenticatorClient client, Clock clock) : Observable
{
    public PushChallenge Challenge { get; } = challenge;
    private ChallengePhase phase = ChallengePhase.Review;
    private string typed = "";
    private string? message;
    private ulong secondsLeft;
    public ChallengePhase Phase { get => phase; private set { Set(ref phase, value); Notify(); } }
    public string? Message { get => message; private set => Set(ref message, value); }
    public ulong SecondsLeft { get => secondsLeft; private set => Set(ref secondsLeft, value); }
    public bool IsActivation => Challenge.Kind == ChallengeKind.Activation;
    public int? NumberLength => Challenge.NumberLength;
    public string Title => IsActivation ? "Confirm adding this device" : "Are you trying to sign in?";
    public string Context => $"{Challenge.App}\nFrom {Challenge.Location ?? "unknown location"} ({Challenge.Ip ?? "unknown"})\n{Challenge.Client}\n{DateTimeOffset.FromUnixTimeSeconds((long)Challenge.Time).LocalDateTime:G}";
    public bool IsFinal => Phase >= ChallengePhase.Approved;
    public bool CanApprove => Phase == ChallengePhase.Review && (NumberLength is null || typed.Length == NumberLength);

    /// <summary>What the user typed; never filled in by the app.</summary>
    public string TypedNumber
    {
        get => typed;
        set
        {
            if (Phase != ChallengePhase.Review) return;
            Set(ref typed, new string(value.Where(char.IsAsciiDigit).Take(NumberLength ?? 0).ToArray()));
            Message = null;
            Notify();
        }
    }

    private void Notify()
    {
        Raise(nameof(CanApprove));
        Raise(nameof(IsFinal));
    }

    public void Tick()
    {
        var now = clock.NowUnixSeconds();
        SecondsLeft = now >= Challenge.ExpiresAt ? 0 : Challenge.ExpiresAt - now;
        if (SecondsLeft == 0 && Phase is ChallengePhase.Review or ChallengePhase.ConfirmFraud or ChallengePhase.VerifyingUser)
        {
            Phase = ChallengePhase.Expired;
            Message = "This request expired. Sign in again if it was you.";
        }
    }

    public bool RequestApproval()
    {
        Tick();
        if (Phase != ChallengePhase.Review) return false;
        if (NumberLength is { } n && typed.Length != n)
        {
            Message = $"Type the {n}-digit number shown on the sign-in page.";
            return false;
        }
        Phase = ChallengePhase.VerifyingUser;
        return true;
    }

    public async Task OnUserVerificationAsync(Platform.Verification result)
    {
        if (Phase != ChallengePhase.VerifyingUser) return;
        if (result != Platform.Verification.Verified)
        {
            Phase = ChallengePhase.Review;
            Message = result == Platform.Verification.Cancelled
                ? "Approving needs Windows Hello (face, fingerprint or PIN)."
                : "Set up Windows Hello (a PIN at least) to approve sign-ins.";
            return;
        }
        Phase = ChallengePhase.Sending;
        await SendAsync(new Decision.Approve(NumberLength is null ? null : typed, null));
    }

    public async Task DenyAsync()
    {
        if (Phase != ChallengePhase.Review) return;
        Phase = ChallengePhase.Sending;
        await SendAsync(new Decision.Deny());
    }

    public void RequestFraudReport() { if (Phase == ChallengePhase.Review && Challenge.FraudReport) Phase = ChallengePhase.ConfirmFraud; }
    public void CancelFraudReport() { if (Phase == ChallengePhase.ConfirmFraud) Phase = ChallengePhase.Review; }

    public async Task ConfirmFraudReportAsync()
    {
        if (Phase != ChallengePhase.ConfirmFraud) return;
        Phase = ChallengePhase.Sending;
        await SendAsync(new Decision.ReportFraud());
    }

    private async Task SendAsync(Decision decision)
    {
        try
        {
            switch (await client.AnswerChallenge(Challenge.AccountId, Challenge.ChallengeId, decision))
            {
                case Outcome.Approved:
                    Phase = ChallengePhase.Approved;
                    Message = IsActivation ? "This device is now active." : $"Approved. Return to {Challenge.App}.";
                    break;
                case Outcome.Denied d:
                    Phase = ChallengePhase.Denied;
                    Message = d.Reason == "wrong_number"
                        ? "The number did not match, so the sign-in was denied. Sign in again if it was you."
                        : "Denied.";
                    break;
                case Outcome.Fraud:
                    Phase = ChallengePhase.Reported;
                    Message = "Denied and reported. Your administrator has been told; change your password.";
                    break;
                default:
                    // An outcome added to the core after this shell was written: the answer went through.
                    Phase = ChallengePhase.Closed;
                    Message = "Your answer was recorded.";
                    break;
            }
        }
        catch (CountersignException.ChallengeClosed e)
        {
            Phase = ChallengePhase.Closed;
            Message = Messages.For(e).Text;
        }
        catch (CountersignException e)
        {
            var m = Messages.For(e);
            Phase = m.Next == NextStep.Retry ? ChallengePhase.Review : ChallengePhase.Failed;
            Message = m.Text;
        }
    }
}
