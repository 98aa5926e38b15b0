"""The ``mmdet_dynmoe`` registry scope: empty children of mmdet's registries.

Our components register into ``mmdet.registry`` itself (so stock configs
find them). These children exist for one reason: a config inheriting one of
ours through ``_base_ = 'mmdet_dynmoe::...'`` gets ``_scope_='mmdet_dynmoe'``
on the dicts that our config introduced, and mmengine then looks for a
registry of that scope. A child finds everything of its parent (mmdet, then
mmengine), so those dicts build as they would in the ``mmdet`` scope.
"""
from mmdet import registry as _mmdet
from mmengine.registry import Registry


def _child(name: str) -> Registry:
    parent: Registry = getattr(_mmdet, name)
    return Registry(parent.name, parent=parent, scope='mmdet_dynmoe')


RUNNERS = _child('RUNNERS')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
LOOPS = _child('LOOPS')
HOOKS = _child('HOOKS')
DATASETS = _child('DATASETS')
DATA_SAMPLERS = _child('DATA_SAMPLERS')
TRANSFORMS = _child('TRANSFORMS')
MODELS = _child('MODELS')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')
OPTIMIZERS = _child('OPTIMIZERS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS')
METRICS = _child('METRICS')
EVALUATOR = _child('EVALUATOR')
TASK_UTILS = _child('TASK_UTILS')
VISUALIZERS = _child('VISUALIZERS')
VISBACKENDS = _child('VISBACKENDS')
LOG_PROCESSORS = _child('LOG_PROCESSORS')
