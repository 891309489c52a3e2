import {main} from '/work/main/src/cli.js'; process.exitCode = await main(process.argv)
