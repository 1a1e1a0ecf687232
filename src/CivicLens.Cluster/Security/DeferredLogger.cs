using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace CivicLens.Cluster.Security;

/// <summary>
/// A logger for what is configured before the host's logging exists (the silo's TLS options): it writes nowhere
/// until <see cref="Bind"/> gives it the host's, which happens as the host starts, before any connection.
/// </summary>
internal sealed class DeferredLogger : ILogger
{
    private volatile ILogger _inner = NullLogger.Instance;

    public void Bind(ILogger inner) => _inner = inner;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => _inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => _inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _inner.Log(logLevel, eventId, state, exception, formatter);

    /// <summary>Binds in the host's "starting" phase, before any hosted service (the silo included) starts.</summary>
    internal sealed class Binder(DeferredLogger logger, ILoggerFactory loggers) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken)
        {
            logger.Bind(loggers.CreateLogger("CivicLens.Cluster.Security.ClusterTls"));
            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
