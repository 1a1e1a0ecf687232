#!/usr/bin/python3
"""A real RTSP camera for the ingest tests: serves a video file, looped for ever, as H.264 over RTSP.

    tools/rtsp-camera.py --file .civiclens/samples/vtest.avi --port 8554 --path cam [--width 320] [--fps 10]

A decoder pipeline plays the file in real time (scaled down and resampled, so it stays cheap), seeking back to
the start at every end of stream, into an intervideosink. The RTSP server's one shared media reads that channel
with intervideosrc and encodes it (x264 zerolatency, ultrafast, a key frame every second) for every client.
Prints "READY rtsp://127.0.0.1:PORT/PATH" once listening; exits 0 on SIGTERM or SIGINT. SIGUSR1 covers the
lens (the picture turns black, the stream goes on) and SIGUSR2 uncovers it, for the tamper tests. Listens on 127.0.0.1
only. Needs Debian's python3-gi and gir1.2-gst-rtsp-server-1.0 (tools/setup.sh --test installs them).
"""

import argparse
import os
import signal
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
except (ImportError, ValueError) as e:
    print(f"MISSING-DEPENDENCY: {e}: run ./tools/setup.sh --test (python3-gi, gir1.2-gst-rtsp-server-1.0)",
          file=sys.stderr, flush=True)
    sys.exit(3)

CHANNEL = "civiclens-camera"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--file", required=True, help="video file to serve (looped)")
    p.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    p.add_argument("--path", default="cam", help="mount path (default: cam)")
    p.add_argument("--width", type=int, default=320, help="output width, even (default: 320)")
    p.add_argument("--height", type=int, default=240, help="output height, even (default: 240)")
    p.add_argument("--fps", type=int, default=10, help="output frames per second (default: 10)")
    return p.parse_args()


def fail(message):
    print(f"rtsp-camera: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def main():
    args = parse_args()
    if not os.path.isfile(args.file):
        fail(f"no such file: {args.file}")
    mount = "/" + args.path.strip("/")
    Gst.init(None)
    caps = f"video/x-raw,format=I420,width={args.width},height={args.height},framerate={args.fps}/1"

    # The file, decoded in real time (the sink syncs to the clock) and looped by seeking back at each end.
    decoder = Gst.parse_launch(
        f"filesrc name=file ! decodebin ! videoconvert ! videobalance name=lens ! videoscale ! videorate ! {caps} "
        f"! intervideosink channel={CHANNEL} sync=true")
    decoder.get_by_name("file").set_property("location", os.path.abspath(args.file))

    loop = GLib.MainLoop()
    exit_code = [0]

    def on_decoder_message(_bus, message):
        if message.type == Gst.MessageType.EOS:
            if not decoder.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0):
                print("rtsp-camera: could not seek back to the start of the file", file=sys.stderr, flush=True)
                exit_code[0] = 1
                loop.quit()
        elif message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            print(f"rtsp-camera: decoder error: {err.message} ({debug})", file=sys.stderr, flush=True)
            exit_code[0] = 1
            loop.quit()
        return True

    bus = decoder.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_decoder_message)

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( intervideosrc channel={CHANNEL} ! {caps} ! x264enc tune=zerolatency speed-preset=ultrafast "
        f"key-int-max={args.fps} bitrate=500 ! video/x-h264,profile=constrained-baseline "
        f"! rtph264pay name=pay0 pt=96 config-interval=-1 aggregate-mode=zero-latency )")
    factory.set_shared(True)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(mount, factory)

    if decoder.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        fail(f"cannot play {args.file}")
    if server.attach(None) == 0:
        decoder.set_state(Gst.State.NULL)
        fail(f"cannot listen on 127.0.0.1:{args.port} (port in use?)")

    def on_signal():
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, on_signal)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, on_signal)

    lens = decoder.get_by_name("lens")

    def cover(covered):
        # A hand or a bag over the lens: no light, no detail.
        lens.set_property("brightness", -1.0 if covered else 0.0)
        lens.set_property("contrast", 0.0 if covered else 1.0)
        return GLib.SOURCE_CONTINUE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, lambda: cover(True))
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, lambda: cover(False))

    print(f"READY rtsp://127.0.0.1:{server.get_bound_port()}{mount}", flush=True)
    try:
        loop.run()
    finally:
        decoder.set_state(Gst.State.NULL)
    sys.exit(exit_code[0])


if __name__ == "__main__":
    main()
