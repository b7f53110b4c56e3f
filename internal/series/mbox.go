package series

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxMboxSize bounds what ParseMbox reads; a patch series is far smaller.
const maxMboxSize = 256 << 20

// fromLineRE matches an mbox separator: "From SENDER DATE" with a time in
// the date, as in "From 3f2a... Mon Sep 17 00:00:00 2001" (git
// format-patch) or "From mboxrd@z Thu Jan  1 00:00:00 1970" (lore, b4).
// Requiring the time, as git mailsplit does, keeps a commit message line
// starting with "From " from splitting a message.
var fromLineRE = regexp.MustCompile(`^From \S+ .*[0-9]:[0-9][0-9]`)

// splitMbox cuts an mbox into raw messages at separator lines (which are
// dropped). No blank line is needed before a separator, so concatenated
// format-patch --no-signature files split too. Lines of the form ">From ",
// ">>From ", ... lose one '>' (mboxrd), and CRLF line ends become LF, as git
// mailsplit does. Input that does not start with a separator is taken as
// one message (a single .patch or .eml file, or a bare diff).
func splitMbox(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxMboxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxMboxSize {
		return nil, fmt.Errorf("input larger than %d bytes", maxMboxSize)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if !fromLineRE.MatchString(text) {
		if strings.TrimSpace(text) == "" {
			return nil, nil
		}
		return []string{text}, nil
	}
	var msgs []string
	var cur *strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		if fromLineRE.MatchString(l) {
			if cur != nil {
				msgs = append(msgs, cur.String())
			}
			cur = new(strings.Builder)
			continue
		}
		cur.WriteString(unescapeFrom(l))
	}
	return append(msgs, cur.String()), nil
}

// unescapeFrom undoes mboxrd quoting: ">From " -> "From ", ">>From " ->
// ">From ".
func unescapeFrom(l string) string {
	rest := strings.TrimLeft(l, ">")
	if len(rest) < len(l) && strings.HasPrefix(rest, "From ") {
		return l[1:]
	}
	return l
}

// message is one decoded mail: the headers kcovlab needs and the text body.
type message struct {
	Subject string
	From    string
	Date    string
	Body    string // decoded, LF line ends
}

// readMessage parses a raw message: RFC 2047 headers, transfer encodings,
// multipart bodies (text parts concatenated) and in-body From:/Subject:/
// Date: lines that git am would honour.
func readMessage(raw string) (*message, error) {
	if !looksLikeHeader(raw) {
		return &message{Body: raw}, nil // a bare diff
	}
	if !strings.HasSuffix(raw, "\n") {
		raw += "\n"
	}
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read mail headers: %w", err)
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return nil, fmt.Errorf("read mail body: %w", err)
	}
	text, err := decodeBody(textHeader(m.Header), body, 0)
	if err != nil {
		return nil, err
	}
	msg := &message{
		Subject: decodeWords(m.Header.Get("Subject")),
		From:    decodeWords(m.Header.Get("From")),
		Date:    strings.TrimSpace(m.Header.Get("Date")),
	}
	// Google Groups (and some other lists) rewrite From to
	// "'Name' via list <list@...>" and keep the author here.
	if orig := m.Header.Get("X-Original-From"); orig != "" {
		msg.From = decodeWords(orig)
	}
	msg.Body = msg.takeInBodyHeaders(text)
	msg.From = formatAddress(msg.From)
	return msg, nil
}

// looksLikeHeader reports whether text starts with a "Name: value" line.
func looksLikeHeader(text string) bool {
	line, _, _ := strings.Cut(text, "\n")
	name, _, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// takeInBodyHeaders applies and strips leading "From:", "Subject:" and
// "Date:" lines of the body (git format-patch writes them when the author is
// not the sender), returning the rest.
func (m *message) takeInBodyHeaders(body string) string {
	hdr := map[string]string{}
	rest := body
	for {
		line, after, ok := strings.Cut(rest, "\n")
		if !ok {
			return body
		}
		if strings.TrimSpace(line) == "" {
			if len(hdr) == 0 {
				return body
			}
			rest = after
			break
		}
		key, val, isHdr := strings.Cut(line, ": ")
		if !isHdr || (key != "From" && key != "Subject" && key != "Date") {
			return body
		}
		hdr[key] = val
		rest = after
	}
	if v, ok := hdr["From"]; ok {
		m.From = decodeWords(v)
	}
	if v, ok := hdr["Subject"]; ok {
		m.Subject = decodeWords(v)
	}
	if v, ok := hdr["Date"]; ok {
		m.Date = strings.TrimSpace(v)
	}
	return rest
}

// partHeader is the subset of MIME headers decodeBody looks at.
type partHeader struct {
	ContentType string
	Encoding    string
}

func textHeader(h mail.Header) partHeader {
	return partHeader{h.Get("Content-Type"), h.Get("Content-Transfer-Encoding")}
}

// decodeBody turns a (part's) body into text: transfer decoding, charset,
// and for multipart bodies the concatenation of their text parts.
func decodeBody(h partHeader, body []byte, depth int) (string, error) {
	mediaType, params, err := mime.ParseMediaType(h.ContentType)
	if err != nil {
		mediaType, params = "text/plain", nil
	}
	if strings.HasPrefix(mediaType, "multipart/") && depth < 4 {
		return decodeMultipart(params["boundary"], body, depth)
	}
	data, err := decodeTransfer(h.Encoding, body)
	if err != nil {
		return "", err
	}
	text := toUTF8(params["charset"], data)
	return strings.ReplaceAll(text, "\r\n", "\n"), nil
}

func decodeMultipart(boundary string, body []byte, depth int) (string, error) {
	if boundary == "" {
		return "", fmt.Errorf("multipart body without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out strings.Builder
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read multipart body: %w", err)
		}
		ph := partHeader{part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding")}
		mt, _, _ := mime.ParseMediaType(ph.ContentType)
		if ph.ContentType != "" && !strings.HasPrefix(mt, "text/") && !strings.HasPrefix(mt, "multipart/") {
			continue // images, signatures and the like
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return "", fmt.Errorf("read multipart body: %w", err)
		}
		text, err := decodeBody(ph, data, depth+1)
		if err != nil {
			return "", err
		}
		out.WriteString(text)
		if text != "" && !strings.HasSuffix(text, "\n") {
			out.WriteByte('\n') // the newline before a boundary belongs to it
		}
	}
	return out.String(), nil
}

// decodeTransfer undoes a Content-Transfer-Encoding.
func decodeTransfer(encoding string, body []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		data, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			return nil, fmt.Errorf("decode quoted-printable body: %w", err)
		}
		return data, nil
	case "base64":
		clean := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, string(body))
		data, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return nil, fmt.Errorf("decode base64 body: %w", err)
		}
		return data, nil
	default: // 7bit, 8bit, binary, or none
		return body, nil
	}
}

// toUTF8 converts Latin-1 text to UTF-8 (as git am does by default); other
// charsets are passed through unchanged.
func toUTF8(charset string, data []byte) string {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "latin-1":
		if utf8.Valid(data) && !bytes.ContainsFunc(data, func(r rune) bool { return r >= 0x80 }) {
			return string(data)
		}
		runes := make([]rune, len(data))
		for i, b := range data {
			runes[i] = rune(b)
		}
		return string(runes)
	}
	return string(data)
}

// decodeWords decodes RFC 2047 encoded words; undecodable input is kept.
func decodeWords(s string) string {
	dec := new(mime.WordDecoder)
	out, err := dec.DecodeHeader(s)
	if err != nil {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(out)
}

// formatAddress renders "Name <addr>" without re-encoding the name.
func formatAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return s
	}
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}
