"""Media around ffmpeg/ffprobe: every command line (``argv``), the one runner (``runner``), probing
(``probe``) and clip-window planning (``windows``)."""
