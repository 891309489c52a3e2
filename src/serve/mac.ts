// MAC addresses as boot clients send them: aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, AABBCCDDEEFF, and the
// PXE BOOTIF form 01-aa-bb-cc-dd-ee-ff (hardware type 1, Ethernet) that iPXE's ${netX/mac:hexhyp} yields.

/** A MAC in lower-case colon form, or undefined when the text is not one. */
export function normalizeMac(text: string): string | undefined {
  const t = text.trim();
  const bootif = /^01-((?:[0-9a-f]{2}-){5}[0-9a-f]{2})$/i.exec(t);
  const body = bootif ? bootif[1]! : t;
  if (!/^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$|^(?:[0-9a-f]{2}-){5}[0-9a-f]{2}$|^[0-9a-f]{12}$/i.test(body)) return undefined;
  return body.replace(/[:-]/g, '').toLowerCase().match(/../g)!.join(':');
}
