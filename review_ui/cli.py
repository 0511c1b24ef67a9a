"""`kaoping`: the front door to every part of Kaoping."""
from __future__ import annotations

import importlib

import click

# Each subsystem contributes its commands from its own module; the module
# exposes a list named COMMANDS of click commands or groups.
COMMAND_MODULES = [
    "review_ui.commands.core",
    "review_ui.commands.indicators",
    "review_ui.commands.extract",
    "review_ui.commands.tag",
    "review_ui.commands.search",
    "review_ui.commands.rounds",
    "review_ui.commands.outputs",
    "review_ui.commands.statistics",
    "review_ui.commands.surveys",
    "review_ui.commands.collection",
    "review_ui.commands.remind",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", envvar="KAOPING_DATA_DIR", type=click.Path(file_okay=False),
              help="数据目录（默认 ./kaoping-data，或环境变量 KAOPING_DATA_DIR）")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None) -> None:
    """考评（Kaoping）：产改评价考核证据审阅与知识系统。"""
    from evidence.audit import COMMAND_LINE, actor_ip
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir
    # What a command changes is audited as done here, at this machine's console; inside `serve`,
    # each web request sets its own client address.
    token = actor_ip.set(COMMAND_LINE)
    ctx.call_on_close(lambda: actor_ip.reset(token))


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(_name).COMMANDS:
        main.add_command(_command)

if __name__ == "__main__":
    main()
