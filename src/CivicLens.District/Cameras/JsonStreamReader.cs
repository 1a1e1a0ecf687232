using System.Buffers;
using System.Text.Json;

namespace CivicLens.District.Cameras;

/// <summary>
/// Walks a JSON stream token by token through one pooled buffer, handing out one value at a time as a small
/// <see cref="JsonDocument"/>: a FeatureCollection of any size is read holding only one feature (and the buffer) in
/// memory. Each step starts again from the last committed position when the buffer runs dry, after reading more.
/// </summary>
internal sealed class JsonStreamReader : IDisposable
{
    private static readonly JsonReaderOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private readonly Stream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
    private int _start;
    private int _end;
    private bool _final;
    private bool _started;
    private JsonReaderState _state = new(Options);

    public JsonStreamReader(Stream stream) => _stream = stream;

    /// <summary>The next token; <paramref name="text"/> is set for a property name or string. None at the end.</summary>
    public JsonTokenType Next(out string? text)
    {
        while (true)
        {
            var reader = Reader();
            if (reader.Read())
            {
                text = reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String ? reader.GetString() : null;
                Commit(ref reader);
                return reader.TokenType;
            }

            if (_final)
            {
                text = null;
                return JsonTokenType.None;
            }

            Fill();
        }
    }

    /// <summary>
    /// The next value (a property's value, or an array's next item) as a document; null when the array ends there.
    /// A caller disposes it.
    /// </summary>
    public JsonDocument? ReadValue()
    {
        while (true)
        {
            var reader = Reader();
            if (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    Commit(ref reader);
                    return null;
                }

                var probe = reader;
                if (probe.TrySkip())
                {
                    var document = JsonDocument.ParseValue(ref reader);
                    Commit(ref reader);
                    return document;
                }
            }

            if (_final) throw new JsonException("The JSON ends in the middle of a value.");
            Fill();
        }
    }

    /// <summary>
    /// Steps into the next value when it is an array (true); otherwise skips the value whole (false).
    /// </summary>
    public bool TryEnterArray()
    {
        while (true)
        {
            var reader = Reader();
            if (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    Commit(ref reader);
                    return true;
                }

                if (reader.TrySkip())
                {
                    Commit(ref reader);
                    return false;
                }
            }

            if (_final) throw new JsonException("The JSON ends in the middle of a value.");
            Fill();
        }
    }

    /// <summary>Skips the next value whole.</summary>
    public void SkipValue()
    {
        while (true)
        {
            var reader = Reader();
            if (reader.Read() && reader.TrySkip())
            {
                Commit(ref reader);
                return;
            }

            if (_final) throw new JsonException("The JSON ends in the middle of a value.");
            Fill();
        }
    }

    private Utf8JsonReader Reader()
    {
        if (!_started) Start();
        return new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _final, _state);
    }

    private void Commit(ref Utf8JsonReader reader)
    {
        _start += (int)reader.BytesConsumed;
        _state = reader.CurrentState;
    }

    /// <summary>The first bytes, without a UTF-8 byte-order mark.</summary>
    private void Start()
    {
        _started = true;
        while (!_final && _end < 3) Fill();
        if (_end >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF) _start = 3;
    }

    /// <summary>Moves what is left to the front, grows the buffer when one value fills it, and reads until it is full.</summary>
    private void Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        // Fill the buffer whole even from a stream that hands out a few bytes at a time: a value that does not fit yet
        // is scanned again after each fill, so fills must be few.
        while (_end < _buffer.Length)
        {
            var n = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0)
            {
                _final = true;
                return;
            }

            _end += n;
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
