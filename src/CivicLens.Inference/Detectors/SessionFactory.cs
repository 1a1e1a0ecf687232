using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace CivicLens.Inference.Detectors;

/// <summary>
/// Builds ONNX Runtime sessions. The NuGet copy here ships CPU builds only, so CUDA is a configuration
/// path: when the GPU package is installed it is used, otherwise the session falls back to CPU and says so.
/// </summary>
public static partial class SessionFactory
{
    public static InferenceSession Create(
        string modelPath,
        ExecutionProviderKind provider,
        int cudaDeviceId,
        int intraOpThreads,
        GraphOptimizationLevel optimization,
        bool allowSpinning,
        int dynamicBlockBase,
        ILogger logger,
        out ExecutionProviderKind usedProvider)
    {
        if (!File.Exists(modelPath))
        {
            throw new Domain.Detection.ModelException(
                $"Model file not found: {modelPath}. Run 'civiclens models install' to install the default models.");
        }

        usedProvider = ExecutionProviderKind.Cpu;
        var options = new SessionOptions
        {
            GraphOptimizationLevel = optimization,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            EnableMemoryPattern = true,
        };
        try
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", allowSpinning ? "1" : "0");
            if (dynamicBlockBase > 0)
            {
                options.AddSessionConfigEntry("session.dynamic_block_base", dynamicBlockBase.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            if (provider == ExecutionProviderKind.Cuda)
            {
                try
                {
                    options.AppendExecutionProvider_CUDA(cudaDeviceId);
                    usedProvider = ExecutionProviderKind.Cuda;
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
                {
                    LogCudaUnavailable(logger, ex.Message);
                }
            }

            return new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new Domain.Detection.ModelException(
                $"Model '{modelPath}' cannot be loaded by ONNX Runtime (corrupt or not an ONNX model): {ex.Message}", ex);
        }
        finally
        {
            options.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "CUDA execution provider unavailable ({Reason}); running on CPU. Install the ONNX Runtime GPU package to use the GPU.")]
    private static partial void LogCudaUnavailable(ILogger logger, string reason);
}
