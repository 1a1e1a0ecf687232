using System.Text;
using System.Text.Json;

namespace CivicLens.Pipeline.Tests;

/// <summary>A write-only stream that keeps the JSON lines written to it, readable while the run goes on.</summary>
internal sealed class LineStream : Stream
{
    private readonly List<JsonElement> _lines = [];
    private readonly List<byte> _pending = [];
    private readonly Lock _lock = new();

    public IReadOnlyList<JsonElement> Lines
    {
        get
        {
            lock (_lock) return _lines.ToList();
        }
    }

    public IReadOnlyList<JsonElement> Events(string kind) =>
        Lines.Where(l => l.GetProperty("type").GetString() == "event" && l.GetProperty("kind").GetString() == kind).ToList();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_lock)
        {
            foreach (var b in buffer)
            {
                if (b != (byte)'\n')
                {
                    _pending.Add(b);
                    continue;
                }

                _lines.Add(JsonDocument.Parse(Encoding.UTF8.GetString(_pending.ToArray())).RootElement.Clone());
                _pending.Clear();
            }
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
