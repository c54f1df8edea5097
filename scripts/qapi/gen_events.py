"""qapi-events.[ch]: one qapi_event_send_NAME() per event.

Parameters follow the command convention (see gen_commands.py), without
GError **.  Each function builds the "data" object and passes it to
qapi_event_emit() (include/qapi/qmp-event.h).
"""

from .common import QAPIError, indent
from .gen import CFile
from .gen_commands import params, join_params
from .schema import Event


def _proto(ev):
    decls, _ = params(ev, False)
    return f"void qapi_event_send_{ev.c_name()}({join_params(decls)})"


def _body(ev):
    if ev.arg_type is None:
        return f'qapi_event_emit("{ev.name}", NULL);\n'
    t = ev.arg_type.c_name()
    code = "QDict *data = qdict_new();\n"
    if ev.boxed:
        code += f"\nqapi_output_{t}_members(data, arg);\n"
    else:
        code += f"{t} param;\n\nmemset(&param, 0, sizeof(param));\n"
        for m in ev.arg_type.members:
            n = m.c_name()
            if m.param_has():
                code += f"param.has_{n} = has_{n};\n"
            cast = "(char *)" if m.type.name == "str" else ""
            code += f"param.{n} = {cast}{n};\n"
        code += f"qapi_output_{t}_members(data, &param);\n"
    code += f'qapi_event_emit("{ev.name}", data);\nqobject_unref(data);\n'
    return code


def gen_events(schema, prefix):
    h = CFile(f"{prefix}qapi-events.h", "QMP events of the QAPI schema")
    c = CFile(f"{prefix}qapi-events.c", "QMP events of the QAPI schema")
    h.add(f'#include "{prefix}qapi-types.h"\n\n')
    c.add('#include "qemu/osdep.h"\n#include "qapi/qmp-event.h"\n'
          f'#include "{prefix}qapi-events.h"\n'
          f'#include "{prefix}qapi-visit.h"\n\n')
    for ev in schema.of(Event):
        if (ev.arg_type and not ev.boxed
                and any(m.ifcond for m in ev.arg_type.members)):
            raise QAPIError(ev.info, f"event '{ev.name}': conditional "
                            "members need 'boxed': true")
        h.add(_proto(ev) + ";\n", ev.ifcond)
        c.add(f"{_proto(ev)}\n{{\n{indent(_body(ev))}}}\n\n", ev.ifcond)
    return [h, c]
