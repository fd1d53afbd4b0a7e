from newsletter.cli.commands import run

run()
