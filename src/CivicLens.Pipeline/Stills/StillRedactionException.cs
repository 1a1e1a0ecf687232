namespace CivicLens.Pipeline.Stills;

/// <summary>
/// A still image could not be redacted, so nothing was written or returned for it: the unredacted image is never
/// a fallback. The message says why, in words an operator or an uploader can act on.
/// </summary>
public class StillRedactionException : Exception
{
    public StillRedactionException(string message) : base(message) { }

    public StillRedactionException(string message, Exception inner) : base(message, inner) { }

    public StillRedactionException() { }
}

/// <summary>
/// The input itself was refused before anything was analysed: not an image, truncated or corrupt, too large, or an
/// unsupported format. A server answers this with 4xx; any other <see cref="StillRedactionException"/> is its own fault.
/// </summary>
public sealed class StillImageRejectedException : StillRedactionException
{
    public StillImageRejectedException(string message) : base(message) { }

    public StillImageRejectedException(string message, Exception inner) : base(message, inner) { }

    public StillImageRejectedException() { }

    /// <summary>The image's data ends early (an upload cut off), as opposed to data that is damaged.</summary>
    public bool Truncated { get; init; }
}
