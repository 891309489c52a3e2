# Writes a tiny pure-python wheel, imgplay_probe-VERSION-py3-none-any.whl, into DIR: byte for byte the
# same on every run (fixed zip times), so two trees built by two tools hold the same wheel.
import base64, hashlib, sys, zipfile

out_dir, version = sys.argv[1], sys.argv[2]
info = f'imgplay_probe-{version}.dist-info'
files = {
    'imgplay_probe/__init__.py': f'__version__ = "{version}"\n',
    f'{info}/METADATA': f'Metadata-Version: 2.1\nName: imgplay-probe\nVersion: {version}\nSummary: a test package\n',
    f'{info}/WHEEL': 'Wheel-Version: 1.0\nGenerator: make_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
}
record = ''
for name, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()
    record += f'{name},sha256={digest},{len(text.encode())}\n'
files[f'{info}/RECORD'] = record + f'{info}/RECORD,,\n'
with zipfile.ZipFile(f'{out_dir}/imgplay_probe-{version}-py3-none-any.whl', 'w') as whl:
    for name, text in files.items():
        entry = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        entry.external_attr = 0o644 << 16
        whl.writestr(entry, text)
