import CCurl

/// One libcurl easy handle, owned by the worker thread that made it (see ``CurlWorkers``).
///
/// The handle is reused from transfer to transfer: ``reset()`` clears every option but keeps
/// libcurl's connection cache, so consecutive transfers to the same server reuse the
/// connection (an SMTP session stays open between messages). Not `Sendable`: it never leaves
/// its thread.
///
/// ```swift
/// easy.reset()
/// try easy.set(CURLOPT_URL, "http://127.0.0.1:8080/")
/// let transfer = CurlTransfer(upload: [], responseLimit: 65_536)
/// let code = easy.perform(transfer)
/// ```
final class CurlEasy {
    /// libcurl's `CURL *` (a `typedef void` in 7.88, so a raw pointer).
    private let handle: UnsafeMutableRawPointer
    /// `CURLOPT_ERRORBUFFER`: libcurl's explanation of the last failure.
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// String lists handed to libcurl, which does not copy them; freed at the next reset.
    private var lists: [UnsafeMutablePointer<curl_slist>] = []

    /// Makes a handle; `nil` when libcurl cannot (out of memory).
    init?() {
        _ = CurlGlobal.initialized
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        reset()
    }

    deinit {
        // Closes the cached connections (an SMTP connection says QUIT first).
        curl_easy_cleanup(handle)
        freeLists()
        errorBuffer.deallocate()
    }

    // MARK: Options

    /// Clears every option (the connection cache stays), then sets what every transfer
    /// needs: the error buffer and `CURLOPT_NOSIGNAL` (no `SIGALRM` on a worker thread).
    func reset() {
        curl_easy_reset(handle)
        freeLists()
        errorBuffer[0] = 0
        _ = cv_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        _ = cv_curl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
    }

    /// Sets a `long` option.
    func set(_ option: CURLoption, _ value: Int) throws(CurlSetupError) {
        try check(cv_curl_easy_setopt_long(handle, option, value), option)
    }

    /// Sets a `curl_off_t` option (the `…_LARGE` sizes).
    func set(_ option: CURLoption, offset value: Int64) throws(CurlSetupError) {
        try check(cv_curl_easy_setopt_off_t(handle, option, curl_off_t(value)), option)
    }

    /// Sets a string option; libcurl copies the string.
    func set(_ option: CURLoption, _ value: String) throws(CurlSetupError) {
        try check(cv_curl_easy_setopt_string(handle, option, value), option)
    }

    /// Sets a string-list option (`CURLOPT_HTTPHEADER`, `CURLOPT_MAIL_RCPT`); the list lives
    /// until the next ``reset()``.
    func set(_ option: CURLoption, list values: [String]) throws(CurlSetupError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for value in values {
            guard let appended = curl_slist_append(list, value) else {
                curl_slist_free_all(list)
                throw CurlSetupError(option: option, code: CURLE_OUT_OF_MEMORY)
            }
            list = appended
        }
        if let list { lists.append(list) }
        try check(cv_curl_easy_setopt_slist(handle, option, list), option)
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(CurlSetupError) {
        guard code == CURLE_OK else { throw CurlSetupError(option: option, code: code) }
    }

    private func freeLists() {
        for list in lists { curl_slist_free_all(list) }
        lists.removeAll()
    }

    // MARK: Transfer

    /// Runs one blocking transfer with `transfer` as the state of every callback (upload
    /// bytes, response body and header lines, whether the request started).
    func perform(_ transfer: CurlTransfer) -> CURLcode {
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var code = CURLE_OK
        withExtendedLifetime(transfer) {
            for (option, pointer) in [(CURLOPT_READDATA, context), (CURLOPT_WRITEDATA, context), (CURLOPT_HEADERDATA, context), (CURLOPT_PREREQDATA, context)] {
                _ = cv_curl_easy_setopt_pointer(handle, option, pointer)
            }
            _ = cv_curl_easy_setopt_read_callback(handle, curlReadCallback)
            _ = cv_curl_easy_setopt_write_callback(handle, curlWriteCallback)
            _ = cv_curl_easy_setopt_header_callback(handle, curlHeaderCallback)
            _ = cv_curl_easy_setopt_prereq_callback(handle, curlPrereqCallback)
            code = curl_easy_perform(handle)
            // The callbacks must not outlive `transfer`.
            for option in [CURLOPT_READDATA, CURLOPT_WRITEDATA, CURLOPT_HEADERDATA, CURLOPT_PREREQDATA] {
                _ = cv_curl_easy_setopt_pointer(handle, option, nil)
            }
        }
        return code
    }

    /// `CURLINFO_RESPONSE_CODE`: the HTTP status, or the last SMTP reply code (0 for none).
    var responseCode: Int {
        var value = 0
        _ = cv_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &value)
        return value
    }

    /// libcurl's explanation of the last failure: the error buffer, else the code's text.
    func errorMessage(_ code: CURLcode) -> String {
        let buffered = String(cString: errorBuffer)
        if !buffered.isEmpty { return buffered }
        return String(cString: curl_easy_strerror(code))
    }
}

/// A libcurl option that could not be set (an unknown option or a value libcurl refuses).
struct CurlSetupError: Error, CustomStringConvertible {
    var option: CURLoption
    var code: CURLcode

    var description: String { "option \(option.rawValue): \(String(cString: curl_easy_strerror(code)))" }
}

/// `curl_global_init`, once per process, before the first handle (it is not thread-safe).
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(cv_CURL_GLOBAL_DEFAULT) == CURLE_OK
}

// MARK: - Transfer state

/// The state one transfer's C callbacks share: the bytes to upload, the response body (up
/// to a limit), the header or reply lines, and whether the request went out.
final class CurlTransfer {
    /// Bytes sent by the read callback (an SMTP message, an HTTP request body).
    let upload: [UInt8]
    /// How much of ``upload`` libcurl has taken.
    private(set) var uploadOffset = 0

    /// Whether libcurl has taken every byte of ``upload`` (with a known upload size it does
    /// not ask again for the end): for SMTP, the whole message was handed over and only the
    /// reply to the final "." can be missing.
    var uploadComplete: Bool { uploadOffset == upload.count }

    /// The largest response body kept; beyond it the transfer is aborted.
    let responseLimit: Int
    /// The response body.
    private(set) var body: [UInt8] = []
    /// Whether the response body (or the headers) passed ``responseLimit``.
    private(set) var responseTooLarge = false

    /// Header lines (HTTP) or reply lines (SMTP, FTP…) of the transfer, without line ends;
    /// a new HTTP status line starts the list again (after a `100 Continue`).
    private(set) var headerLines: [String] = []
    private var headerBytes = 0

    /// Whether libcurl had a connection and was about to send the request: a failure after
    /// this may have reached the server.
    fileprivate(set) var requestStarted = false

    init(upload: [UInt8], responseLimit: Int) {
        self.upload = upload
        self.responseLimit = responseLimit
    }

    fileprivate func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, upload.count - uploadOffset)
        if count == 0 { return 0 }
        upload.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + uploadOffset, byteCount: count)
        }
        uploadOffset += count
        return count
    }

    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard body.count + bytes.count <= responseLimit else {
            responseTooLarge = true
            return 0  // CURLE_WRITE_ERROR
        }
        body.append(contentsOf: bytes)
        return bytes.count
    }

    fileprivate func receiveHeader(_ bytes: UnsafeRawBufferPointer) -> Int {
        headerBytes += bytes.count
        guard headerBytes <= max(responseLimit, 16_384) else {
            responseTooLarge = true
            return 0
        }
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
        if line.hasPrefix("HTTP/") { headerLines.removeAll() }
        headerLines.append(line)
        return bytes.count
    }
}

// MARK: - C callbacks (no captures: the transfer arrives through the *DATA pointer)

private func curlReadCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let buffer, let context else { return Int(CURL_READFUNC_ABORT) }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

private func curlWriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
}

private func curlHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
}

private func curlPrereqCallback(
    _ context: UnsafeMutableRawPointer?, _ primaryIP: UnsafeMutablePointer<CChar>?, _ localIP: UnsafeMutablePointer<CChar>?,
    _ primaryPort: Int32, _ localPort: Int32
) -> Int32 {
    if let context {
        Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue().requestStarted = true
    }
    return cv_CURL_PREREQFUNC_OK
}
