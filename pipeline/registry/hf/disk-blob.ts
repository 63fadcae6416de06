import { open, type FileHandle } from 'node:fs/promises'

const READ_CHUNK = 1024 * 1024

/**
 * A Blob over a byte range of a file on disk, read only when asked and one chunk at a time: what
 * @huggingface/hub is given for every model file. Its stream() is pull-based (a chunk is read when the
 * consumer asks for one), so hashing and uploading hold one chunk, never the file; our upload fetch
 * recognises it and streams the range straight from disk.
 */
export class DiskBlob extends Blob {
  constructor(
    readonly path: string,
    readonly start: number,
    readonly end: number,
  ) {
    super([])
    // Blob's own size getter would say 0; fetch and the library read `size` for Content-Length and parts.
    Object.defineProperty(this, 'size', { value: end - start })
  }

  override slice(start = 0, end = this.size): DiskBlob {
    if (start < 0 || end < 0) throw new TypeError('DiskBlob.slice does not support negative offsets')
    return new DiskBlob(this.path, this.start + start, Math.min(this.start + end, this.end))
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes()
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    const fh = await open(this.path, 'r')
    try {
      const buf = Buffer.alloc(this.size)
      let done = 0
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, this.start + done)
        if (bytesRead === 0) throw new Error(`${this.path} is shorter than expected (it changed during the push)`)
        done += bytesRead
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.length) as Uint8Array<ArrayBuffer>
    } finally {
      await fh.close()
    }
  }

  override async text(): Promise<string> {
    return Buffer.from(await this.bytes()).toString('utf8')
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const { path, end } = this
    let pos = this.start
    let fh: FileHandle | undefined
    return new ReadableStream<Uint8Array<ArrayBuffer>>(
      {
        async pull(controller) {
          fh ??= await open(path, 'r')
          const n = Math.min(READ_CHUNK, end - pos)
          if (n <= 0) {
            await fh.close()
            controller.close()
            return
          }
          const buf = Buffer.allocUnsafeSlow(n)
          const { bytesRead } = await fh.read(buf, 0, n, pos)
          if (bytesRead === 0) {
            await fh.close()
            controller.error(new Error(`${path} is shorter than expected (it changed during the push)`))
            return
          }
          pos += bytesRead
          controller.enqueue(new Uint8Array(buf.buffer, 0, bytesRead) as Uint8Array<ArrayBuffer>)
        },
        async cancel() {
          await fh?.close()
        },
      },
      { highWaterMark: 1 },
    )
  }
}
