using System.Buffers.Binary;
using CivicLens.Domain.Detection;

namespace CivicLens.Inference.Conversion;

internal enum TfDataType
{
    Float32,
    Int32,
    Int64,
    Bool,
}

/// <summary>
/// A constant tensor during conversion: floats as <see cref="float"/>, every integer type (and bool) as
/// <see cref="long"/> so folding is exact. Row-major, immutable by convention.
/// </summary>
internal sealed class ConstTensor
{
    private ConstTensor(TfDataType dataType, long[] shape, float[]? floats, long[]? integers)
    {
        var count = Shapes.Count(shape);
        var length = floats?.Length ?? integers!.Length;
        if (count != length)
        {
            throw new InvalidOperationException($"Tensor of shape [{Shapes.Format(shape)}] needs {count} values, got {length}.");
        }

        DataType = dataType;
        Shape = shape;
        Floats = floats;
        Integers = integers;
    }

    public TfDataType DataType { get; }
    public long[] Shape { get; }
    public float[]? Floats { get; }
    public long[]? Integers { get; }
    public bool IsFloat => Floats is not null;
    public int Count => Floats?.Length ?? Integers!.Length;

    public static ConstTensor FromFloats(long[] shape, float[] values) => new(TfDataType.Float32, shape, values, null);

    public static ConstTensor FromIntegers(TfDataType type, long[] shape, long[] values) =>
        type == TfDataType.Float32 ? throw new ArgumentException("Integer tensor with a float type.", nameof(type)) : new(type, shape, null, values);

    public long[] ToLongs(string what) =>
        Integers ?? throw new ModelException($"{what} must be an integer constant, got float values.");

    public float[] ToFloats() => Floats ?? Integers!.Select(v => (float)v).ToArray();

    public ConstTensor WithShape(long[] shape) => new(DataType, shape, Floats, Integers);

    /// <summary>Permutes the axes (used to turn HWIO filters into OIHW and to fold constant Transposes).</summary>
    public ConstTensor Transpose(IReadOnlyList<int> perm)
    {
        var rank = Shape.Length;
        if (perm.Count != rank) throw new ModelException($"Transpose permutation [{string.Join(',', perm)}] does not match rank {rank}.");
        var outShape = perm.Select(p => Shape[p]).ToArray();
        var inStrides = Shapes.Strides(Shape);
        var count = Count;
        var floats = Floats is null ? null : new float[count];
        var ints = Integers is null ? null : new long[count];
        var index = new long[rank];
        for (var o = 0; o < count; o++)
        {
            long src = 0;
            for (var d = 0; d < rank; d++) src += index[d] * inStrides[perm[d]];
            if (floats is not null) floats[o] = Floats![src];
            else ints![o] = Integers![src];
            for (var d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < outShape[d]) break;
                index[d] = 0;
            }
        }

        return new ConstTensor(DataType, outShape, floats, ints);
    }

    /// <summary>Element-wise binary op with numpy/TF broadcasting.</summary>
    public static ConstTensor Broadcast(ConstTensor a, ConstTensor b, Func<float, float, float> onFloats, Func<long, long, long> onIntegers)
    {
        if (a.IsFloat != b.IsFloat) throw new ModelException("Cannot combine a float and an integer constant.");
        var shape = Shapes.Broadcast(a.Shape, b.Shape);
        var rank = shape.Length;
        var sa = BroadcastStrides(a.Shape, rank);
        var sb = BroadcastStrides(b.Shape, rank);
        var count = (int)Shapes.Count(shape);
        var floats = a.IsFloat ? new float[count] : null;
        var ints = a.IsFloat ? null : new long[count];
        var index = new long[rank];
        for (var o = 0; o < count; o++)
        {
            long ia = 0, ib = 0;
            for (var d = 0; d < rank; d++)
            {
                ia += index[d] * sa[d];
                ib += index[d] * sb[d];
            }

            if (floats is not null) floats[o] = onFloats(a.Floats![ia], b.Floats![ib]);
            else ints![o] = onIntegers(a.Integers![ia], b.Integers![ib]);
            for (var d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < shape[d]) break;
                index[d] = 0;
            }
        }

        return new ConstTensor(a.DataType, shape, floats, ints);
    }

    /// <summary>Little-endian raw bytes in the ONNX element type.</summary>
    public byte[] ToRawData(OnnxDataType type)
    {
        var count = Count;
        switch (type)
        {
            case OnnxDataType.Float:
                {
                    var values = ToFloats();
                    var bytes = new byte[count * 4];
                    for (var i = 0; i < count; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
                    return bytes;
                }
            case OnnxDataType.Int64:
                {
                    var values = ToLongs("An int64 tensor");
                    var bytes = new byte[count * 8];
                    for (var i = 0; i < count; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
                    return bytes;
                }
            case OnnxDataType.Int32:
                {
                    var values = ToLongs("An int32 tensor");
                    var bytes = new byte[count * 4];
                    for (var i = 0; i < count; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), checked((int)values[i]));
                    return bytes;
                }
            case OnnxDataType.Bool:
                {
                    var values = ToLongs("A bool tensor");
                    return values.Select(v => v != 0 ? (byte)1 : (byte)0).ToArray();
                }
            default:
                throw new InvalidOperationException($"Unsupported ONNX type {type}.");
        }
    }

    private static long[] BroadcastStrides(long[] shape, int rank)
    {
        var strides = Shapes.Strides(shape);
        var result = new long[rank];
        var offset = rank - shape.Length;
        for (var d = 0; d < shape.Length; d++) result[offset + d] = shape[d] == 1 ? 0 : strides[d];
        return result;
    }
}

internal static class Shapes
{
    public static long Count(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape) n = checked(n * d);
        return n;
    }

    public static long[] Strides(IReadOnlyList<long> shape)
    {
        var strides = new long[shape.Count];
        long s = 1;
        for (var d = shape.Count - 1; d >= 0; d--)
        {
            strides[d] = s;
            s *= shape[d];
        }

        return strides;
    }

    public static long[] Broadcast(IReadOnlyList<long> a, IReadOnlyList<long> b)
    {
        var rank = Math.Max(a.Count, b.Count);
        var result = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i - (rank - a.Count) >= 0 ? a[i - (rank - a.Count)] : 1;
            var db = i - (rank - b.Count) >= 0 ? b[i - (rank - b.Count)] : 1;
            if (da != db && da != 1 && db != 1)
            {
                throw new ModelException($"Shapes [{Format(a)}] and [{Format(b)}] cannot be broadcast together.");
            }

            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    public static string Format(IEnumerable<long> shape) => string.Join(',', shape);
}
