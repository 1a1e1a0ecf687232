using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SkiaSharp;

namespace CivicLens.Pipeline.Stills;

/// <summary>Limits of <see cref="PhotoIntake"/>.</summary>
public sealed record PhotoIntakeOptions
{
    /// <summary>Larger uploads are refused as soon as one byte more has been read, whatever the request declared.</summary>
    public long MaxBytes { get; init; } = 15L * 1024 * 1024;

    /// <summary>Larger images are refused from their header, before any pixel is decoded.</summary>
    public long MaxPixels { get; init; } = 40_000_000;

    /// <summary>Photos redacted at once (each holds its decoded pixels, about 10 bytes a pixel at the peak).</summary>
    public int MaxConcurrent { get; init; } = 1;

    /// <summary>Photos that may wait for a free slot; one more is refused as "busy" at once.</summary>
    public int MaxQueued { get; init; } = 8;

    /// <summary>How long a queued photo waits for a slot before it is refused as "busy".</summary>
    public TimeSpan QueueWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        // One pooled array holds the whole body plus the byte that proves it too large.
        if (MaxBytes is < 1 or >= int.MaxValue - 64) throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, "MaxBytes must lie in 1..2 GB.");
        if (MaxPixels < 1) throw new ArgumentOutOfRangeException(nameof(MaxPixels), MaxPixels, "MaxPixels must be positive.");
        if (MaxConcurrent < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrent), MaxConcurrent, "MaxConcurrent must be positive.");
        if (MaxQueued < 0) throw new ArgumentOutOfRangeException(nameof(MaxQueued), MaxQueued, "MaxQueued must be 0 or more.");
        if (QueueWait <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(QueueWait), QueueWait, "QueueWait must be positive.");
    }
}

/// <summary>
/// Where and when the ORIGINAL photo's EXIF says it was taken, read transiently so a caller can compare it with the
/// reported place. Never logged nor stored by the intake, and absent from <see cref="AcceptedPhoto.Jpeg"/>.
/// </summary>
/// <param name="Latitude">Degrees north (negative: south); null with <paramref name="Longitude"/> when there is no valid GPS position.</param>
/// <param name="Longitude">Degrees east (negative: west).</param>
/// <param name="TakenAt">DateTimeOriginal with its OffsetTimeOriginal, else the GPS (UTC) time stamp; null when the zone is unknown.</param>
public sealed record PhotoClaim(double? Latitude, double? Longitude, DateTimeOffset? TakenAt)
{
    public static PhotoClaim None { get; } = new(null, null, null);
}

/// <summary>
/// A photo that passed every check: <see cref="Jpeg"/> is a fresh, redacted, metadata-free JPEG (what the caller
/// stores), <see cref="Sha256"/> its lower-case hex digest.
/// </summary>
public sealed record AcceptedPhoto(byte[] Jpeg, int Width, int Height, int Faces, int PlateBands, string Sha256, PhotoClaim Claim);

/// <summary>
/// An upload refused as input (a server answers 4xx, 503 for <c>busy</c>): <see cref="Reason"/> is a short code
/// (<see cref="PhotoRejection"/>), the message a sentence the reporter can act on. Nothing of the upload was kept.
/// </summary>
public sealed class PhotoRejectedException : Exception
{
    public PhotoRejectedException(string reason, string message) : base(message) => Reason = reason;

    public PhotoRejectedException(string reason, string message, Exception inner) : base(message, inner) => Reason = reason;

    public PhotoRejectedException() : this(PhotoRejection.NotAnImage, "The upload is not a photo that can be accepted.") { }

    public PhotoRejectedException(string message) : this(PhotoRejection.NotAnImage, message) { }

    public PhotoRejectedException(string message, Exception inner) : this(PhotoRejection.NotAnImage, message, inner) { }

    public string Reason { get; }
}

/// <summary>The reason codes of <see cref="PhotoRejectedException"/>.</summary>
public static class PhotoRejection
{
    public const string TooLarge = "too-large";
    public const string Empty = "empty";
    public const string NotAnImage = "not-an-image";
    public const string UnsupportedFormat = "unsupported-format";
    public const string Truncated = "truncated";
    public const string TooManyPixels = "too-many-pixels";
    public const string Polyglot = "polyglot";
    public const string Busy = "busy";
}

/// <summary>
/// Turns an untrusted upload (a field report's photo) into a photo safe to store, checking in this order: size while
/// reading (never trusting a declared length), magic bytes (JPEG, PNG, WebP only), the file's structure to its
/// end (truncation, anything appended, HTML/script/archive/PDF signatures: a polyglot), the pixel count from the
/// header, then a bounded queue, and a full decode, redaction and metadata-free re-encode by <see cref="StillRedactor"/>.
/// The EXIF position and time of the original are read on the way and returned, never kept.
/// <para>
/// Memory: one pooled body buffer (at most MaxBytes + 1, cleared when returned) per upload in hand, at most
/// MaxConcurrent + MaxQueued of them past the size check, and MaxConcurrent decoded images. Nothing is written to disk.
/// </para>
/// </summary>
public sealed partial class PhotoIntake : IDisposable
{
    private static readonly Meter Meter = new("CivicLens.Pipeline.Stills");
    private static readonly Counter<long> AcceptedCount = Meter.CreateCounter<long>("civiclens.photos.accepted", "{photo}", "Report photos accepted (re-encoded and redacted)");
    private static readonly Counter<long> RejectedCount = Meter.CreateCounter<long>("civiclens.photos.rejected", "{photo}", "Report photos refused");
    private static readonly Histogram<double> RedactSeconds = Meter.CreateHistogram<double>("civiclens.photos.redact.duration", "s", "Time to redact one report photo");

    // Most phone photos are a few MB: grow from here by doubling rather than renting MaxBytes for every upload.
    private const int FirstBuffer = 256 * 1024;

    private readonly StillRedactor _redactor;
    private readonly PhotoIntakeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private int _admitted;

    /// <param name="redactor">Not disposed by this class.</param>
    /// <param name="time">Times the queue wait; the system clock when null.</param>
    public PhotoIntake(StillRedactor redactor, PhotoIntakeOptions options, TimeProvider? time = null, ILogger<PhotoIntake>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(redactor);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _redactor = redactor;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _slots = new SemaphoreSlim(options.MaxConcurrent, options.MaxConcurrent);
    }

    /// <summary>Photos being redacted or waiting for a slot now.</summary>
    public int InFlight => Volatile.Read(ref _admitted);

    /// <summary>Reads <paramref name="body"/> to its end (at most MaxBytes + 1 bytes), checks it and redacts it.</summary>
    /// <exception cref="PhotoRejectedException">The upload was refused; its <see cref="PhotoRejectedException.Reason"/> says why.</exception>
    /// <exception cref="StillRedactionException">Redaction failed on the server's side; nothing was produced.</exception>
    public async Task<AcceptedPhoto> AcceptAsync(Stream body, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            var (buffer, length) = await ReadBoundedAsync(body, ct).ConfigureAwait(false);
            try
            {
                return await CheckAndRedactAsync(buffer, length, ct).ConfigureAwait(false);
            }
            finally
            {
                // Cleared: the next renter must never see an unredacted photo.
                ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            }
        }
        catch (PhotoRejectedException ex)
        {
            RejectedCount.Add(1, new KeyValuePair<string, object?>("reason", ex.Reason));
            LogRejected(_logger, ex.Reason);
            throw;
        }
    }

    private async Task<(byte[] Buffer, int Length)> ReadBoundedAsync(Stream body, CancellationToken ct)
    {
        var limit = (int)_options.MaxBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, FirstBuffer));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1L, 2L * buffer.Length));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
                    buffer = bigger;
                }

                // Never ask for more than the one byte that proves the body too large.
                var want = Math.Min(buffer.Length, limit + 1) - length;
                var read = await body.ReadAsync(buffer.AsMemory(length, want), ct).ConfigureAwait(false);
                if (read == 0) break;
                length += read;
                if (length > limit)
                {
                    throw new PhotoRejectedException(PhotoRejection.TooLarge, string.Create(CultureInfo.InvariantCulture,
                        $"The photo is larger than the limit of {_options.MaxBytes / (1024.0 * 1024):0.#} MB. Please send a smaller photo."));
                }
            }

            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            throw;
        }
    }

    private async Task<AcceptedPhoto> CheckAndRedactAsync(byte[] buffer, int length, CancellationToken ct)
    {
        var layout = PhotoStructure.Inspect(buffer.AsSpan(0, length));
        CheckHeader(buffer.AsSpan(0, length), layout.Format);
        var claim = PhotoExif.ReadClaim(layout.Exif.IsEmpty ? default : buffer.AsSpan(layout.Exif.Start, layout.Exif.Length));

        // Admission counts the running and the waiting: one more than both limits is refused without waiting.
        if (Interlocked.Increment(ref _admitted) > _options.MaxConcurrent + _options.MaxQueued)
        {
            Interlocked.Decrement(ref _admitted);
            throw Busy();
        }

        try
        {
            using (var wait = new CancellationTokenSource(_options.QueueWait, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, wait.Token))
            {
                try
                {
                    await _slots.WaitAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw Busy();
                }
            }

            try
            {
                var started = _time.GetTimestamp();
                var still = await Task.Run(() => Redact(buffer, length), ct).ConfigureAwait(false);
                var jpeg = MemoryMarshal.TryGetArray(still.Jpeg, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
                    ? segment.Array
                    : still.Jpeg.ToArray();
                var elapsed = _time.GetElapsedTime(started);
                RedactSeconds.Record(elapsed.TotalSeconds);
                AcceptedCount.Add(1);
                LogAccepted(_logger, still.Width, still.Height, still.Faces, still.PlateBands, elapsed.TotalMilliseconds);
                return new AcceptedPhoto(jpeg, still.Width, still.Height, still.Faces, still.PlateBands, Convert.ToHexStringLower(SHA256.HashData(jpeg)), claim);
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _admitted);
        }
    }

    // The header as the decoder will read it: the format must be the one the magic bytes named, and the pixel
    // count within the limit before a single pixel is decoded.
    private void CheckHeader(ReadOnlySpan<byte> encoded, SKEncodedImageFormat format)
    {
        var header = StillDecoder.ReadHeader(encoded);
        if (header is not { } h || h.Format != format || h.Width <= 0 || h.Height <= 0)
        {
            throw new PhotoRejectedException(PhotoRejection.NotAnImage, "The photo's header is damaged, so it cannot be read. Please send the photo again as a JPEG.");
        }

        var pixels = (long)h.Width * h.Height;
        if (pixels > _options.MaxPixels)
        {
            throw new PhotoRejectedException(PhotoRejection.TooManyPixels, string.Create(CultureInfo.InvariantCulture,
                $"The photo is {h.Width} x {h.Height} pixels ({pixels / 1e6:0.#} megapixels); the limit is {_options.MaxPixels / 1e6:0.#} megapixels. Please send a smaller photo."));
        }
    }

    private RedactedStill Redact(byte[] buffer, int length)
    {
        try
        {
            return _redactor.Redact(buffer.AsSpan(0, length));
        }
        catch (StillImageRejectedException ex)
        {
            // The structure was sound, so what the decoder refuses is damaged image data (or, rarely, a cut it saw first).
            throw ex.Truncated
                ? new PhotoRejectedException(PhotoRejection.Truncated, "The photo is incomplete; the upload may have been cut off. Please send it again.", ex)
                : new PhotoRejectedException(PhotoRejection.NotAnImage, "The photo's image data is damaged, so it cannot be read. Please send the photo again as a JPEG.", ex);
        }
    }

    private static PhotoRejectedException Busy() =>
        new(PhotoRejection.Busy, "Too many photos are being processed right now. Please try again in a minute.");

    public void Dispose() => _slots.Dispose();

    // Only the reason and the image's size: never a position, a time or any byte of the photo.
    [LoggerMessage(Level = LogLevel.Information, Message = "Photo refused: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Photo accepted: {Width}x{Height}, {Faces} faces, {PlateBands} plate bands hidden in {Milliseconds:0} ms")]
    private static partial void LogAccepted(ILogger logger, int width, int height, int faces, int plateBands, double milliseconds);
}
