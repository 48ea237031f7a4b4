/// Helpers for PostgreSQL's text formats: array literals for `= ANY($1::text[])` parameters and
/// COPY text rows.

/// A one-dimensional array literal (`{"a","b"}`) for passing a list as one text parameter,
/// e.g. `WHERE id = ANY($1::text[])`. Every element is quoted, so no element is mistaken for
/// NULL or a delimiter.
public func postgresArrayLiteral(_ elements: some Sequence<String>) -> String {
    var out = "{"
    var first = true
    for element in elements {
        if !first { out.append(",") }
        first = false
        out.append("\"")
        for c in element.unicodeScalars {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.unicodeScalars.append(c)
        }
        out.append("\"")
    }
    out.append("}")
    return out
}

/// Splits one row of COPY text format (as handed out by `copyOut`, with or without its
/// trailing newline) into fields, undoing the backslash escapes; `\N` is NULL (nil).
public func parseCopyTextRow(_ row: UnsafeRawBufferPointer) -> [[UInt8]?] {
    var fields: [[UInt8]?] = []
    parseCopyTextRow(row, into: &fields)
    return fields
}

/// The same, into a caller's array (emptied first, its capacity kept): the form for hot loops
/// that read millions of rows.
public func parseCopyTextRow(_ row: UnsafeRawBufferPointer, into fields: inout [[UInt8]?]) {
    fields.removeAll(keepingCapacity: true)
    var current: [UInt8] = []
    var isNull = false
    var i = 0
    var end = row.count
    if end > 0 && row[end - 1] == UInt8(ascii: "\n") { end -= 1 }
    while i < end {
        let b = row[i]
        if b == UInt8(ascii: "\t") {
            fields.append(isNull ? nil : current)
            current.removeAll(keepingCapacity: true)
            isNull = false
            i += 1
            continue
        }
        if b == UInt8(ascii: "\\") && i + 1 < end {
            let n = row[i + 1]
            i += 2
            switch n {
            case UInt8(ascii: "N"): isNull = true
            case UInt8(ascii: "t"): current.append(0x09)
            case UInt8(ascii: "n"): current.append(0x0A)
            case UInt8(ascii: "r"): current.append(0x0D)
            case UInt8(ascii: "b"): current.append(0x08)
            case UInt8(ascii: "f"): current.append(0x0C)
            case UInt8(ascii: "v"): current.append(0x0B)
            default: current.append(n) // \\ and any other escaped character
            }
            continue
        }
        current.append(b)
        i += 1
    }
    fields.append(isNull ? nil : current)
}
