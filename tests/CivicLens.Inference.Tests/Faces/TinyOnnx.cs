using System.Text;

namespace CivicLens.Inference.Tests.Faces;

/// <summary>
/// Writes a one-node Identity ONNX model with a chosen tensor shape: a valid model that is not BlazeFace,
/// to prove the shape checks without depending on any other model being installed.
/// </summary>
internal static class TinyOnnx
{
    public static void WriteIdentity(string path, params long[] shape)
    {
        var node = Message(w =>
        {
            w.String(1, "x");
            w.String(2, "y");
            w.String(4, "Identity");
        });
        var graph = Message(w =>
        {
            w.Bytes(1, node);
            w.String(2, "tiny");
            w.Bytes(11, ValueInfo("x", shape));
            w.Bytes(12, ValueInfo("y", shape));
        });
        var model = Message(w =>
        {
            w.Varint(1, 7); // IR version 7
            w.String(2, "civiclens-tests");
            w.Bytes(7, graph);
            w.Bytes(8, Message(o => o.Varint(2, 13))); // default domain, opset 13
        });
        File.WriteAllBytes(path, model);
    }

    private static byte[] ValueInfo(string name, long[] shape)
    {
        var dims = Message(s =>
        {
            foreach (var d in shape) s.Bytes(1, Message(dim => dim.Varint(1, d)));
        });
        var tensor = Message(t =>
        {
            t.Varint(1, 1); // FLOAT
            t.Bytes(2, dims);
        });
        return Message(v =>
        {
            v.String(1, name);
            v.Bytes(2, Message(type => type.Bytes(1, tensor)));
        });
    }

    private static byte[] Message(Action<Writer> build)
    {
        var w = new Writer();
        build(w);
        return w.ToArray();
    }

    private sealed class Writer
    {
        private readonly List<byte> _bytes = [];

        public void Varint(int field, long value)
        {
            Raw(((ulong)field << 3) | 0);
            Raw((ulong)value);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Bytes(int field, byte[] value)
        {
            Raw(((ulong)field << 3) | 2);
            Raw((ulong)value.Length);
            _bytes.AddRange(value);
        }

        public byte[] ToArray() => [.. _bytes];

        private void Raw(ulong v)
        {
            while (v >= 0x80)
            {
                _bytes.Add((byte)(v | 0x80));
                v >>= 7;
            }

            _bytes.Add((byte)v);
        }
    }
}
