"""Media helpers around ffmpeg/ffprobe."""
