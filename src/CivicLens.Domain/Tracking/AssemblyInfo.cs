using System.Runtime.CompilerServices;

// The assignment solver and Kalman filter are tested directly (optimality against brute force).
[assembly: InternalsVisibleTo("CivicLens.Domain.Tests")]
