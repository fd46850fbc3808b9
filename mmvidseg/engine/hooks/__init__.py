from .video_prediction_writer_hook import VideoPredictionWriterHook

__all__ = ['VideoPredictionWriterHook']
