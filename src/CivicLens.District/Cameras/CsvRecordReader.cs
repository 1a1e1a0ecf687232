using System.Buffers;

namespace CivicLens.District.Cameras;

/// <summary>
/// RFC 4180 records from a <see cref="TextReader"/>, one at a time, in one pass over a fixed buffer: quoted fields
/// may hold commas, doubled quotes and line breaks; lines end in CRLF, LF or CR; a leading byte-order mark is
/// skipped; empty lines are skipped. A record that breaks the format is still returned, with <see cref="Error"/>
/// saying how, so the rows after it are read and checked too.
/// </summary>
internal sealed class CsvRecordReader
{
    private enum State { FieldStart, Unquoted, Quoted, QuoteInQuoted }

    private static readonly SearchValues<char> Stops = SearchValues.Create(",\r\n\"");

    private readonly TextReader _reader;
    private readonly char[] _buffer = new char[1 << 16];
    private int _pos;
    private int _len;
    private bool _eof;
    private bool _started;
    private bool _skipLineFeed;
    private int _line = 1;

    private char[] _record = new char[1024];
    private int _recordLength;
    private int[] _ends = new int[32];

    public CsvRecordReader(TextReader reader) => _reader = reader;

    /// <summary>The 1-based line the current record starts on.</summary>
    public int Line { get; private set; }

    public int FieldCount { get; private set; }

    /// <summary>How the current record breaks the CSV format, or null.</summary>
    public string? Error { get; private set; }

    public ReadOnlySpan<char> Field(int i)
    {
        var start = i == 0 ? 0 : _ends[i - 1];
        return _record.AsSpan(start, _ends[i] - start);
    }

    public bool Next()
    {
        FieldCount = 0;
        _recordLength = 0;
        Error = null;
        var state = State.FieldStart;
        var content = false;
        Line = _line;
        while (true)
        {
            if (_pos == _len && !Fill())
            {
                if (state == State.Quoted) Fail("has a quoted field that is not closed before the end of the file");
                if (!content) return false;
                EndField();
                return true;
            }

            if (_skipLineFeed)
            {
                _skipLineFeed = false;
                if (_buffer[_pos] == '\n')
                {
                    _pos++;
                    continue;
                }
            }

            switch (state)
            {
                case State.FieldStart:
                    if (_buffer[_pos] == '"')
                    {
                        _pos++;
                        content = true;
                        state = State.Quoted;
                    }
                    else
                    {
                        state = State.Unquoted;
                    }

                    break;

                case State.Unquoted:
                    {
                        var span = _buffer.AsSpan(_pos, _len - _pos);
                        var i = span.IndexOfAny(Stops);
                        if (i < 0)
                        {
                            Append(span);
                            content = true;
                            _pos = _len;
                            break;
                        }

                        Append(span[..i]);
                        var c = span[i];
                        _pos += i + 1;
                        if (c == ',')
                        {
                            content = true;
                            EndField();
                            state = State.FieldStart;
                        }
                        else if (c == '"')
                        {
                            content = true;
                            Fail("has a quote inside an unquoted field (quote the whole field and double the quote)");
                            Append("\"");
                        }
                        else
                        {
                            content |= i > 0;
                            if (EndLine(c, ref content)) return true;
                            state = State.FieldStart;
                        }

                        break;
                    }

                case State.Quoted:
                    {
                        var span = _buffer.AsSpan(_pos, _len - _pos);
                        var i = span.IndexOf('"');
                        var text = i < 0 ? span : span[..i];
                        _line += text.Count('\n');
                        Append(text);
                        _pos += i < 0 ? text.Length : i + 1;
                        if (i >= 0) state = State.QuoteInQuoted;
                        break;
                    }

                case State.QuoteInQuoted:
                    {
                        var c = _buffer[_pos];
                        if (c == '"')
                        {
                            Append("\"");
                            _pos++;
                            state = State.Quoted;
                        }
                        else if (c == ',')
                        {
                            _pos++;
                            EndField();
                            state = State.FieldStart;
                        }
                        else if (c is '\r' or '\n')
                        {
                            _pos++;
                            if (EndLine(c, ref content)) return true;
                        }
                        else
                        {
                            Fail("has text after the closing quote of a field");
                            state = State.Unquoted;
                        }

                        break;
                    }
            }
        }
    }

    /// <summary>A line ends: the record, or nothing when the line was empty (then the next line is the record's start).</summary>
    private bool EndLine(char c, ref bool content)
    {
        _line++;
        if (c == '\r') _skipLineFeed = true;
        if (!content)
        {
            Line = _line;
            return false;
        }

        EndField();
        return true;
    }

    private void Fail(string error) => Error ??= error;

    private bool Fill()
    {
        if (_eof) return false;
        _len = _reader.Read(_buffer, 0, _buffer.Length);
        _pos = 0;
        if (_len == 0)
        {
            _eof = true;
            return false;
        }

        if (!_started)
        {
            _started = true;
            if (_buffer[0] == '\uFEFF') _pos = 1;
            if (_pos == _len) return Fill();
        }

        return true;
    }

    private void Append(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return;
        if (_recordLength + text.Length > _record.Length) Array.Resize(ref _record, Math.Max(_record.Length * 2, _recordLength + text.Length));
        text.CopyTo(_record.AsSpan(_recordLength));
        _recordLength += text.Length;
    }

    private void EndField()
    {
        if (FieldCount == _ends.Length) Array.Resize(ref _ends, _ends.Length * 2);
        _ends[FieldCount++] = _recordLength;
    }
}
