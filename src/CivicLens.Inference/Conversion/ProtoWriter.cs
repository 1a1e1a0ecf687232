using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace CivicLens.Inference.Conversion;

/// <summary>
/// The few protobuf wire-format primitives an ONNX file needs (varint, fixed32, length-delimited), so the
/// converter carries no protobuf or ONNX package. Repeated scalars are written unpacked, as proto2
/// (onnx.proto's syntax) does by default; every protobuf parser accepts that form.
/// </summary>
internal sealed class ProtoWriter
{
    private const int WireVarint = 0;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public int Length => _buffer.WrittenCount;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireVarint);
        WriteRawVarint(unchecked((ulong)value));
    }

    public void WriteInt32(int field, int value) => WriteInt64(field, value);

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireFixed32);
        var span = _buffer.GetSpan(4);
        BinaryPrimitives.WriteSingleLittleEndian(span, value);
        _buffer.Advance(4);
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, WireLengthDelimited);
        WriteRawVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    /// <summary>Writes a nested message built by <paramref name="build"/> (length-prefixed).</summary>
    public void WriteMessage(int field, Action<ProtoWriter> build)
    {
        var nested = new ProtoWriter();
        build(nested);
        WriteBytes(field, nested.WrittenSpan);
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    private void WriteTag(int field, int wireType) => WriteRawVarint((ulong)(((uint)field << 3) | (uint)wireType));

    private void WriteRawVarint(ulong value)
    {
        var span = _buffer.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        _buffer.Advance(i);
    }
}
