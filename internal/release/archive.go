package release

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// fileTime is the modification time of every file in an archive, so that
// the same inputs give the same bytes.
var fileTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// archiveFile is one file to put into an archive.
type archiveFile struct {
	name string // path inside the archive, with forward slashes
	data []byte
	exec bool // mode 0755 instead of 0644
}

// ArchiveName is the release archive of t: a .zip for Windows, a .tar.gz
// elsewhere.
func ArchiveName(version string, t Target) string {
	ext := ".tar.gz"
	if t.OS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("bill-mcp_%s_%s_%s%s", version, t.OS, t.Arch, ext)
}

// writeArchive writes the release archive of t into dir: the binary and
// README.md at the top level.
func writeArchive(dir, version string, t Target, bin string, readme []byte) (string, error) {
	raw, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	files := []archiveFile{{name: t.BinaryName(), data: raw, exec: true}, {name: "README.md", data: readme}}
	path := filepath.Join(dir, ArchiveName(version, t))
	if t.OS == "windows" {
		return path, writeZip(path, files)
	}
	return path, writeTarGz(path, files)
}

func writeZip(path string, files []archiveFile) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	for _, file := range files {
		h := &zip.FileHeader{Name: file.name, Method: zip.Deflate, Modified: fileTime}
		mode := os.FileMode(0o644)
		if file.exec {
			mode = 0o755
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(file.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

func writeTarGz(path string, files []archiveFile) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	gz := gzip.NewWriter(f)
	gz.ModTime = fileTime
	tw := tar.NewWriter(gz)
	for _, file := range files {
		mode := int64(0o644)
		if file.exec {
			mode = 0o755
		}
		h := &tar.Header{Name: file.name, Mode: mode, Size: int64(len(file.data)), ModTime: fileTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(file.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// FileSHA256 is the hex SHA-256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeChecksums writes "DIGEST  NAME" lines (sha256sum's format, so
// `sha256sum -c checksums.txt` verifies a download) and returns the
// digests by file name.
func writeChecksums(path string, files []string) (map[string]string, error) {
	digests := map[string]string{}
	var b strings.Builder
	for _, p := range files {
		d, err := FileSHA256(p)
		if err != nil {
			return nil, err
		}
		digests[filepath.Base(p)] = d
		fmt.Fprintf(&b, "%s  %s\n", d, filepath.Base(p))
	}
	return digests, os.WriteFile(path, []byte(b.String()), 0o644)
}
