using CivicLens.Domain.Geometry;

namespace CivicLens.Domain.Tracking;

/// <summary>
/// Constant-velocity Kalman filter on (centre x, centre y, aspect w/h, height) and their rates, as in
/// SORT/ByteTrack, but with time steps in seconds so frames may come at any rate.
/// </summary>
/// <remarks>
/// ByteTrack's 8x8 filter has diagonal noise and a transition that only couples each coordinate with its
/// own rate, so its covariance stays block-diagonal: four independent 2x2 (position, rate) filters. Keeping
/// exactly those blocks gives the same estimates in a few scalars per axis, with no matrices and no allocation.
/// Noise is ByteTrack's, in box heights per frame at 30 fps, scaled to the real time step as a random walk
/// so two half steps add the same uncertainty as one whole step; except that velocity noise is half of
/// ByteTrack's 1/160: rules read the velocity (is this vehicle parked?), and with ByteTrack's value a parked
/// box with 2 px of detector jitter shows about 3.5 px/s RMS of phantom motion, with this about 1.9, at the
/// cost of adapting to a change of speed in about 1.3 s instead of 0.7 s.
/// </remarks>
internal struct BoxKalmanFilter
{
    private const double ReferenceFps = 30.0;
    private const double PositionWeight = 1.0 / 20.0;
    private const double VelocityWeight = 1.0 / 320.0; // ByteTrack: 1/160, see remarks
    private const double MinHeight = 1e-3;

    private Axis _cx;
    private Axis _cy;
    private Axis _aspect;
    private Axis _height;

    public readonly double VelocityX => _cx.Rate;
    public readonly double VelocityY => _cy.Rate;

    public readonly BoxF Box
    {
        get
        {
            var h = Math.Max(_height.Value, MinHeight);
            var w = Math.Max(_aspect.Value, 0) * h;
            return new BoxF((float)(_cx.Value - w * 0.5), (float)(_cy.Value - h * 0.5), (float)w, (float)h);
        }
    }

    /// <summary>Starts from one measurement with no motion known.</summary>
    public void Initiate(in BoxF box)
    {
        double h = Math.Max(box.Height, MinHeight);
        var posStd = 2 * PositionWeight * h;
        var velStd = 10 * VelocityWeight * h * ReferenceFps;
        _cx = Axis.Start(box.CenterX, posStd, velStd);
        _cy = Axis.Start(box.CenterY, posStd, velStd);
        _aspect = Axis.Start(box.Width / h, 1e-2, 1e-5 * ReferenceFps);
        _height = Axis.Start(h, posStd, velStd);
    }

    /// <summary>Stops the box from growing or shrinking on its own while unseen (ByteTrack does this for lost tracks).</summary>
    public void FreezeHeight() => _height.Rate = 0;

    /// <summary>Moves the state <paramref name="dt"/> seconds ahead.</summary>
    public void Predict(double dt)
    {
        if (dt <= 0) return;
        var steps = dt * ReferenceFps;
        var h = Math.Max(_height.Value, MinHeight);
        var posVar = Square(PositionWeight * h) * steps;
        var velVar = Square(VelocityWeight * h * ReferenceFps) * steps;
        _cx.Predict(dt, posVar, velVar);
        _cy.Predict(dt, posVar, velVar);
        _aspect.Predict(dt, 1e-4 * steps, Square(1e-5 * ReferenceFps) * steps);
        _height.Predict(dt, posVar, velVar);
    }

    /// <summary>Corrects the state with a measured box.</summary>
    public void Update(in BoxF box)
    {
        var h = Math.Max(_height.Value, MinHeight);
        var r = Square(PositionWeight * h);
        _cx.Correct(box.CenterX, r);
        _cy.Correct(box.CenterY, r);
        _aspect.Correct(box.Height > 0 ? box.Width / (double)box.Height : _aspect.Value, 1e-2);
        _height.Correct(Math.Max(box.Height, MinHeight), r);
    }

    private static double Square(double x) => x * x;

    /// <summary>One coordinate and its rate with their 2x2 covariance.</summary>
    private struct Axis
    {
        public double Value;
        public double Rate;
        private double _pp;
        private double _pv;
        private double _vv;

        public static Axis Start(double value, double valueStd, double rateStd) =>
            new() { Value = value, _pp = valueStd * valueStd, _vv = rateStd * rateStd };

        public void Predict(double dt, double valueVar, double rateVar)
        {
            Value += Rate * dt;
            // P' = F P F^T + Q with F = [[1, dt], [0, 1]].
            _pp += dt * (2 * _pv + dt * _vv) + valueVar;
            _pv += dt * _vv;
            _vv += rateVar;
        }

        public void Correct(double measured, double measureVar)
        {
            var s = _pp + measureVar;
            var kp = _pp / s;
            var kv = _pv / s;
            var innovation = measured - Value;
            Value += kp * innovation;
            Rate += kv * innovation;
            // P' = (I - K H) P, written out for the symmetric 2x2 block.
            _vv -= kv * _pv;
            _pv -= kp * _pv;
            _pp -= kp * _pp;
        }
    }
}
